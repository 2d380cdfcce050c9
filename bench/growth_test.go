package bench_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/idledger/idledger/bench"
)

// A smoke run: every block's attestations are accepted (Growth fails on any
// refusal) and each checkpoint reports the fields scripts read. No
// assertion on time.
func TestGrowthSmoke(t *testing.T) {
	dir := t.TempDir()
	var calls int
	res, err := bench.Growth(context.Background(), bench.GrowthOptions{
		To: 2500, First: 200, BlockSize: 100, Keys: 1, Dir: filepath.Join(dir, "state"),
		Progress: func(bench.Progress) { calls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{200, 2000, 2500}
	if len(res.Checkpoints) != len(want) {
		t.Fatalf("checkpoints %+v, want at %v", res.Checkpoints, want)
	}
	for i, c := range res.Checkpoints {
		if c.Attestations != want[i] {
			t.Errorf("checkpoint %d at %d attestations, want %d", i, c.Attestations, want[i])
		}
		if c.CommitUsPerAttestation <= 0 || c.CommitCPUUsPerAttestation <= 0 || c.DiskBytesPerAttestation <= 0 || c.QueryProofUs <= 0 || c.MaxRSSMiB <= 0 {
			t.Errorf("checkpoint %d has an empty figure: %+v", i, c)
		}
	}
	if res.SetupS <= 0 || res.SignS <= 0 || res.BlocksS <= 0 || res.MeasureS <= 0 {
		t.Errorf("where the time went has an empty figure: setup %v, sign %v, blocks %v, measure %v", res.SetupS, res.SignS, res.BlocksS, res.MeasureS)
	}
	if calls != 25 {
		t.Errorf("progress called %d times, want once per block (25)", calls)
	}
}

func TestGrowthRefusesFewOrUsedDir(t *testing.T) {
	if _, err := bench.Growth(context.Background(), bench.GrowthOptions{To: 10, Dir: t.TempDir()}); !errors.Is(err, bench.ErrTooFew) {
		t.Errorf("to 10: %v, want ErrTooFew", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Growth(context.Background(), bench.GrowthOptions{To: 20_000, Dir: dir}); !errors.Is(err, bench.ErrDirNotEmpty) {
		t.Errorf("used dir: %v, want ErrDirNotEmpty", err)
	}
}

// A presigned file written by one run feeds the next, which signs nothing
// and still has every transaction accepted (verified in full by the app);
// a file made for other blocks is refused.
func TestGrowthPresigned(t *testing.T) {
	dir := t.TempDir()
	pre := filepath.Join(dir, "pre")
	o := bench.GrowthOptions{To: 600, First: 200, BlockSize: 100, Keys: 1, Presigned: pre}
	o.Dir = filepath.Join(dir, "a")
	first, err := bench.Growth(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Dir = filepath.Join(dir, "b")
	again, err := bench.Growth(context.Background(), o)
	if err != nil {
		t.Fatalf("from the presigned file: %v", err)
	}
	if len(again.Checkpoints) != len(first.Checkpoints) || again.Checkpoints[1].Attestations != 600 {
		t.Fatalf("from the presigned file: %+v, want checkpoints like %+v", again.Checkpoints, first.Checkpoints)
	}
	o.Dir, o.BlockSize = filepath.Join(dir, "c"), 50
	if _, err := bench.Growth(context.Background(), o); err == nil {
		t.Fatal("a presigned file of 100-attestation blocks fed 50-attestation blocks")
	}
	o.Dir, o.BlockSize, o.To = filepath.Join(dir, "d"), 100, 2000
	if _, err := bench.Growth(context.Background(), o); err == nil {
		t.Fatal("a run past the presigned file's end succeeded")
	}
}
