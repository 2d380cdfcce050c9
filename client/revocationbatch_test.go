package client

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idledger/idledger/jpki"
)

func TestMergeSubjects(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	a, b := [32]byte{1}, [32]byte{2}
	got := mergeSubjects([]jpki.RevokedSubject{
		{Commitment: b, RevokedAt: t0},
		{Commitment: a, RevokedAt: t0},
		{Commitment: b, RevokedAt: t0.Add(time.Hour)},
		{Commitment: b},
	})
	if len(got) != 2 || got[0].Commitment != a || got[1].Commitment != b || !got[1].RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("mergeSubjects = %+v; want a then b at the latest time", got)
	}
}

func TestRevocationStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crl.progress.json")
	if st, err := ReadRevocationState(path); st != nil || err != nil {
		t.Fatalf("missing state = %v, %v; want nil, nil", st, err)
	}
	want := &RevocationState{Version: revocationStateVersion, Input: "ab", Subjects: 5, BatchSize: 2, Batches: 3,
		Committed: []BatchRecord{{Batch: 3, Height: 9}, {Batch: 1, Height: 7}}}
	if err := WriteRevocationState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRevocationState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.done(1) || got.done(2) || !got.done(3) || got.Committed[0].Batch != 1 {
		t.Errorf("state read back = %+v", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	for _, bad := range []string{`{`, `{"version":2,"batch_size":2}`, `{"version":1,"batch_size":0}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadRevocationState(path); err == nil {
			t.Errorf("state %s read without error", bad)
		}
	}
}
