package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idledger/idledger/node"
)

// app.toml round-trips, a home without one gets the defaults, and a bad
// value is refused with the key's name.
func TestAppConfigRoundTrip(t *testing.T) {
	home := t.TempDir()
	a, err := node.LoadAppConfig(home)
	if err != nil || a.State.CacheNodes != 0 || a.SnapshotInterval != 0 {
		t.Fatalf("no app.toml: %+v, %v; want snapshots off and the default cache", a, err)
	}
	want := node.DefaultAppConfig()
	want.State = node.StateConfig{CacheNodes: 123456, KeepVersions: 5000, PruneEvery: 10, DBCacheMiB: 64}
	if err := node.WriteAppConfig(home, want); err != nil {
		t.Fatal(err)
	}
	got, err := node.LoadAppConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("read back %+v, wrote %+v", got, want)
	}
	path := filepath.Join(home, node.AppConfigFile)
	raw, _ := os.ReadFile(path)
	bad := strings.Replace(string(raw), "cache_nodes = 123456", "cache_nodes = -1", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := node.LoadAppConfig(home); err == nil || !strings.Contains(err.Error(), "state.cache_nodes") {
		t.Fatalf("cache_nodes = -1: %v, want a refusal naming state.cache_nodes", err)
	}
	one := strings.Replace(string(raw), "keep_versions = 5000", "keep_versions = 1", 1)
	if err := os.WriteFile(path, []byte(one), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := node.LoadAppConfig(home); err == nil || !strings.Contains(err.Error(), "state.keep_versions") {
		t.Fatalf("keep_versions = 1: %v, want a refusal naming state.keep_versions (the next header proves the version before it)", err)
	}
}
