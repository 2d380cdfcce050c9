package node

import (
	"testing"

	dbm "github.com/cometbft/cometbft-db"
)

// After Close, a read answers "not found" instead of the error on which
// CometBFT's block store panics (a consensus goroutine reading during
// shutdown); before Close, reads are the database's.
func TestClosableDBReadsEmptyAfterClose(t *testing.T) {
	raw, err := dbm.NewGoLevelDB("t", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := &closableDB{DB: raw}
	if err := db.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("open: %q, %v", v, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get([]byte("k")); err == nil {
		t.Fatal("the raw database still reads after Close: the test shows nothing")
	}
	if v, err := db.Get([]byte("k")); err != nil || v != nil {
		t.Fatalf("closed Get: %q, %v; want nil, nil", v, err)
	}
	if ok, err := db.Has([]byte("k")); err != nil || ok {
		t.Fatalf("closed Has: %v, %v; want false, nil", ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
