package client_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/libs/log"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/client"
)

// fakeChain is an RPC server that answers status and commit for a made-up
// chain: latest height, earliest height, and a header per height whose app
// hash depends on salt (a different salt is a different, lying, chain).
type fakeChain struct {
	chainID      string
	latest, base int64
	salt         string
}

func (f *fakeChain) header(h int64) *cmttypes.Header {
	app := sha256.Sum256([]byte(f.salt + "/" + string(rune(h))))
	vals := sha256.Sum256([]byte("validators"))
	return &cmttypes.Header{
		ChainID:        f.chainID,
		Height:         h,
		Time:           time.Unix(1700000000+h, 0).UTC(),
		AppHash:        app[:],
		ValidatorsHash: vals[:],
	}
}

func (f *fakeChain) serve(t *testing.T) string {
	t.Helper()
	status := func(*rpctypes.Context) (*ctypes.ResultStatus, error) {
		r := &ctypes.ResultStatus{}
		r.NodeInfo.Network = f.chainID
		r.SyncInfo.LatestBlockHeight = f.latest
		r.SyncInfo.EarliestBlockHeight = f.base
		return r, nil
	}
	commit := func(_ *rpctypes.Context, height *int64) (*ctypes.ResultCommit, error) {
		h := f.latest
		if height != nil {
			h = *height
		}
		if h < f.base || h > f.latest {
			return nil, errors.New("height not available")
		}
		hdr := f.header(h)
		return &ctypes.ResultCommit{SignedHeader: cmttypes.SignedHeader{
			Header: hdr,
			Commit: &cmttypes.Commit{Height: h, BlockID: cmttypes.BlockID{Hash: hdr.Hash()}},
		}, CanonicalCommit: true}, nil
	}
	mux := http.NewServeMux()
	rpcserver.RegisterRPCFuncs(mux, map[string]*rpcserver.RPCFunc{
		"status": rpcserver.NewRPCFunc(status, ""),
		"commit": rpcserver.NewRPCFunc(commit, "height"),
	}, log.NewNopLogger())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTrustedCheckpointAgreeingServers(t *testing.T) {
	a := &fakeChain{chainID: "cp-test", latest: 50, base: 1, salt: "honest"}
	b := &fakeChain{chainID: "cp-test", latest: 47, base: 1, salt: "honest"}
	height, hash, err := client.TrustedCheckpoint(context.Background(), []string{a.serve(t), b.serve(t)})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(47 - client.CheckpointMargin); height != want {
		t.Errorf("height %d, want %d (the lower latest height minus the margin)", height, want)
	}
	if want := a.header(height).Hash(); string(hash) != string(want) {
		t.Errorf("hash %X, want %X", hash, want)
	}
}

func TestTrustedCheckpointRefusesLyingServer(t *testing.T) {
	a := &fakeChain{chainID: "cp-test", latest: 30, base: 1, salt: "honest"}
	liar := &fakeChain{chainID: "cp-test", latest: 30, base: 1, salt: "forked"}
	_, _, err := client.TrustedCheckpoint(context.Background(), []string{a.serve(t), liar.serve(t)})
	if err == nil || !errors.Is(err, client.ErrVerification) || !strings.Contains(err.Error(), "disagree") {
		t.Fatalf("a server with another header hash must be refused, got %v", err)
	}
}

func TestTrustedCheckpointRefusesOtherChain(t *testing.T) {
	a := &fakeChain{chainID: "cp-test", latest: 30, base: 1, salt: "honest"}
	b := &fakeChain{chainID: "cp-other", latest: 30, base: 1, salt: "honest"}
	_, _, err := client.TrustedCheckpoint(context.Background(), []string{a.serve(t), b.serve(t)})
	if err == nil || !strings.Contains(err.Error(), "disagree on the chain") {
		t.Fatalf("servers of different chains must be refused, got %v", err)
	}
}

func TestTrustedCheckpointNeedsTwoAnswers(t *testing.T) {
	a := &fakeChain{chainID: "cp-test", latest: 30, base: 1, salt: "honest"}
	url := a.serve(t)
	ctx := context.Background()
	if _, _, err := client.TrustedCheckpoint(ctx, []string{url}); err == nil {
		t.Fatal("one server must not be enough")
	}
	if _, _, err := client.TrustedCheckpoint(ctx, []string{url, url}); err == nil {
		t.Fatal("the same server twice must not count as two")
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, _, err := client.TrustedCheckpoint(ctx, []string{url, deadURL}); err == nil {
		t.Fatal("a server that does not answer must make it fail")
	}
}

func TestTrustedCheckpointRespectsPrunedBase(t *testing.T) {
	a := &fakeChain{chainID: "cp-test", latest: 20, base: 19, salt: "honest"}
	b := &fakeChain{chainID: "cp-test", latest: 25, base: 1, salt: "honest"}
	height, _, err := client.TrustedCheckpoint(context.Background(), []string{a.serve(t), b.serve(t)})
	if err != nil {
		t.Fatal(err)
	}
	if height != 19 {
		t.Errorf("height %d, want 19 (the pruned server's earliest block)", height)
	}
}
