package e2e_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/memberkey"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
	"github.com/idledger/idledger/testnet"
)

// TestReplayFromBlockStore runs a 3-validator testnet, makes history
// (attestations through two nodes, a governance proposal that executes and
// one that fails), then stops one node, deletes its application state
// (data/idledger) and starts it again: CometBFT replays every block from
// the node's block store into a fresh app. The node must come back (a
// replay that computes another app hash stops it with "wrong
// Block.Header.AppHash") and agree with the others on the app hash.
func TestReplayFromBlockStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-validator testnet")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir, m, net := startTestnet(ctx, t, testnet.InitOptions{Validators: 3, Holders: 2, ChainID: "replay-e2e"})
	url := func(i int) string { return net.RPCURL(i) }
	key := func(i int) string { return filepath.Join(net.Home(i), node.MemberKeyFile) }

	// History: each of two members attests a holder through its own node.
	claim := filepath.Join(dir, "claim.txt")
	if err := os.WriteFile(claim, []byte("replay"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		holder := filepath.Join(dir, m.CADir, testca.HoldersDir, m.Holders[i])
		ok(t, nil, "attest", "--node", url(i), "--member-key", key(i), "--member", m.Nodes[i].Member,
			"--claim-type", "kyc", "--claim-file", claim, "--signer", "soft:"+holder+".key,"+holder+".crt", "-o", "json")
	}
	// Governance: a new member (roles given unsorted) is added by two
	// votes; a second proposal to add it again fails when it executes.
	newKey := filepath.Join(dir, "bank.key")
	seed := sha256.Sum256([]byte("replay bank"))
	if err := memberkey.Write(newKey, ed25519.NewKeyFromSeed(seed[:])); err != nil {
		t.Fatal(err)
	}
	add := []string{"gov", "propose", "add-member", "--id", "bank", "--pub-key-file", newKey, "--roles", "revoker,attester"}
	for round, want := range []string{"executed", "failed"} {
		var p proposal
		ok(t, &p, append(add, "--node", url(0), "--member-key", key(0), "-o", "json")...)
		ok(t, &p, "gov", "vote", fmt.Sprint(p.ID), "--node", url(1), "--member-key", key(1), "-o", "json")
		if p.Status != want {
			t.Fatalf("add-member round %d: proposal %+v, want %s", round, p, want)
		}
	}

	rpcs := make([]*rpchttp.HTTP, len(m.Nodes))
	for i := range rpcs {
		var err error
		if rpcs[i], err = rpchttp.New(url(i), "/websocket"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := rpcs[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := st.SyncInfo.LatestBlockHeight

	// Wipe node 2's application state and let it replay its block store.
	const wiped = 2
	if err := net.StopNode(wiped, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(net.Home(wiped), node.AppDBDir)); err != nil {
		t.Fatal(err)
	}
	if err := net.StartNode(wiped); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	nodetest.WaitCaughtUp(wctx, t, url(wiped), h+2)
	wcancel()
	if !net.Running(wiped) {
		t.Fatal("the replayed node stopped")
	}

	// Its app hash at its last height is the one the next block's header
	// (made by the others) carries.
	info, err := rpcs[wiped].ABCIInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := info.Response.LastBlockHeight
	next := at + 1
	nodetest.WaitHeight(ctx, t, url(0), next)
	b, err := rpcs[0].Block(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Block.Header.AppHash, info.Response.LastBlockAppHash) {
		t.Fatalf("after replay, node %d's app hash at height %d is %X; the chain's is %X", wiped, at, info.Response.LastBlockAppHash, b.Block.Header.AppHash)
	}
	t.Logf("node %d replayed %d+ blocks into a fresh app and agrees at height %d", wiped, h, at)
}
