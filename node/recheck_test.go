package node_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// TestRemovedMemberDisconnected, on both transports: a node is registered
// by governance to a new validator member and connects and syncs; then the
// member is removed, and the validator disconnects its node at the next
// commit (CometBFT itself asks about a peer only when it connects) and
// keeps it out.
func TestRemovedMemberDisconnected(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{transportDefault, transportLibP2P} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			v := nodetest.New(t, "recheck-"+transport)
			genesisFile := filepath.Join(v.Home, node.GenesisFile)
			dir := nodetest.TempDir(t)
			j := newJoiner(t, transport, dir, "bank-node", genesisFile, validatorPeer(t, v, transport))
			v.Start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			c, err := client.New(v.URL)
			if err != nil {
				t.Fatal(err)
			}
			gov := client.MemberAuth{Key: v.MemberKey}
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Propose(ctx, gov, &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{
				Id: "bank", PubKey: pub, Roles: []string{chain.RoleValidator}, NodeIds: []string{j.id},
			}}}); err != nil {
				t.Fatal(err)
			}
			j.start(t)
			jp := j.peerName(t)
			waitPeers(ctx, t, v.URL, "the registered node connects", func(ps []string) bool { return slices.Contains(ps, jp) })
			nodetest.WaitHeight(ctx, t, j.url, height(ctx, t, v.URL))

			r, err := c.Propose(ctx, gov, &chainpb.GovAction{Action: &chainpb.GovAction_RemoveMember{RemoveMember: "bank"}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Proposal.Status != chain.ProposalExecuted {
				t.Fatalf("remove-member: %s %s", r.Proposal.Status, r.Proposal.Result)
			}
			waitPeers(ctx, t, v.URL, "the removed member's node is disconnected", func(ps []string) bool { return !slices.Contains(ps, jp) })
			// And it stays out, though it keeps redialing.
			staysOut(ctx, t, v.URL, j, "the removed member's node", false)
		})
	}
}

// TestWrongChainPeerRefused, on both transports: a node whose ID the
// validator allows (an observer) but whose genesis names another chain is
// never taken as a peer. CometBFT's own transport compares chain IDs in its
// handshake; on libp2p idledger's gate asks.
func TestWrongChainPeerRefused(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{transportDefault, transportLibP2P} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			v := nodetest.New(t, "chain-"+transport)
			dir := nodetest.TempDir(t)
			g, err := os.ReadFile(filepath.Join(v.Home, node.GenesisFile))
			if err != nil {
				t.Fatal(err)
			}
			other := filepath.Join(dir, "other-genesis.json")
			if err := os.WriteFile(other, []byte(strings.Replace(string(g), `"chain-`+transport+`"`, `"other-chain"`, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			peer := validatorPeer(t, v, transport)
			foreign := newJoiner(t, transport, dir, "foreign", other, peer)
			friend := newJoiner(t, transport, dir, "friend", filepath.Join(v.Home, node.GenesisFile), peer)
			if err := node.WriteObservers(v.Home, []string{foreign.id, friend.id}); err != nil {
				t.Fatal(err)
			}
			v.Start(t)
			foreign.start(t)
			friend.start(t)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			// The friend of the same chain connects and syncs: the foreign
			// node had the same chance.
			nodetest.WaitHeight(ctx, t, friend.url, height(ctx, t, v.URL)+2)
			fp, frp := foreign.peerName(t), friend.peerName(t)
			waitPeers(ctx, t, v.URL, "the friend is a peer", func(ps []string) bool { return slices.Contains(ps, frp) })
			waitPeers(ctx, t, v.URL, "the node of another chain is not a peer", func(ps []string) bool { return !slices.Contains(ps, fp) })
			staysOut(ctx, t, v.URL, foreign, "a node of another chain", false)
		})
	}
}
