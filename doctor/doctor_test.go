package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/idledger/idledger/chain/chainpb"
)

func find(rs []Result, check string) *Result {
	for i := range rs {
		if rs[i].Check == check {
			return &rs[i]
		}
	}
	return nil
}

func TestCheckPeers(t *testing.T) {
	up := PeerView{ID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Moniker: "node1", Height: 100}
	persistent := []string{up.ID + "@127.0.0.1:1", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@127.0.0.1:2"}
	rs := CheckPeers(99, false, []PeerView{up}, persistent, true)
	if r := find(rs, "peer bbbbbbbbbbbb"); r == nil || r.Status != Fail || !strings.Contains(r.Detail, "not connected") {
		t.Errorf("stopped persistent peer: %+v", rs)
	}
	if r := find(rs, "peer aaaaaaaaaaaa"); r != nil {
		t.Errorf("a connected peer reported: %+v", r)
	}
	if r := find(rs, "height lag"); r == nil || r.Status != OK {
		t.Errorf("lag 1: %+v", r)
	}
	rs = CheckPeers(90, false, []PeerView{up}, nil, true)
	if r := find(rs, "height lag"); r == nil || r.Status != Fail || !strings.Contains(r.Detail, "10 blocks behind") {
		t.Errorf("lag 10: %+v", r)
	}
	rs = CheckPeers(5, false, nil, nil, true)
	if r := find(rs, "peers"); r == nil || r.Status != Fail {
		t.Errorf("no peers where some are expected: %+v", rs)
	}
	rs = CheckPeers(5, false, nil, nil, false)
	if len(rs) != 1 || rs[0].Status != OK {
		t.Errorf("no peers on a single-validator chain: %+v", rs)
	}
}

func TestCheckClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		block   time.Time
		catchUp bool
		want    string
	}{
		{now.Add(-time.Second), false, OK},
		{now.Add(5 * time.Second), false, Fail},
		{now.Add(-10 * time.Minute), false, Warn},
		{now.Add(-10 * time.Minute), true, OK},
	} {
		if got := CheckClock(now, c.block, c.catchUp); got.Status != c.want {
			t.Errorf("block at %s, catching up %v: %+v, want %s", c.block, c.catchUp, got, c.want)
		}
	}
}

func TestCheckDiskSpace(t *testing.T) {
	for _, c := range []struct {
		free, total uint64
		want        string
	}{
		{50 << 30, 100 << 30, OK},
		{8 << 30, 100 << 30, Warn},
		{3 << 30, 100 << 30, Fail},
		{512 << 20, 2 << 30, Fail},
		{0, 0, Warn},
	} {
		if got := CheckDiskSpace("/d", c.free, c.total); got.Status != c.want {
			t.Errorf("%d of %d: %+v, want %s", c.free, c.total, got, c.want)
		}
	}
}

func TestCheckKeyFilesPermissions(t *testing.T) {
	home := t.TempDir()
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.NodeKeyFile(), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.PrivValidatorKeyFile(), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := CheckKeyFiles(c, filepath.Join(home, "config", "member_key.pem"))
	if r := find(rs, "node key"); r == nil || r.Status != OK {
		t.Errorf("node key 0600: %+v", r)
	}
	if r := find(rs, "validator key"); r == nil || r.Status != Fail || !strings.Contains(r.Detail, "chmod 600") {
		t.Errorf("validator key 0644: %+v", r)
	}
	if r := find(rs, "member key"); r == nil || r.Status != OK {
		t.Errorf("member key elsewhere: %+v", r)
	}
	c.PrivValidatorListenAddr = "tcp://127.0.0.1:26659"
	if r := find(CheckKeyFiles(c, ""), "validator key"); r == nil || r.Status != Warn {
		t.Errorf("key on the node with a remote signer: %+v", r)
	}
}

func FuzzPeerHeight(f *testing.F) {
	f.Add([]byte(`{"round_state":{"height":"12","round":0}}`))
	f.Add([]byte(`{"round_state":{"height":12}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = peerHeight(b) // never panics
	})
}

func TestCheckUpgrade(t *testing.T) {
	if r := CheckUpgrade(nil, 10, nil); r.Status != OK {
		t.Errorf("none: %+v", r)
	}
	p := &chainpb.UpgradePlan{Name: "v2", Height: 100}
	if r := CheckUpgrade(p, 10, []string{"v1"}); r.Status != Warn || !strings.Contains(r.Detail, "does not know") {
		t.Errorf("unknown: %+v", r)
	}
	if r := CheckUpgrade(p, 10, []string{"v2"}); r.Status != OK {
		t.Errorf("known: %+v", r)
	}
}
