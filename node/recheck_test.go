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

	cmtp2p "github.com/cometbft/cometbft/p2p"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// peerName is how the validator's net_info names j: its node ID, or on
// libp2p its libp2p peer ID.
func peerName(t *testing.T, j *joiner, transport string) string {
	t.Helper()
	if transport != "libp2p" {
		return j.id
	}
	key, err := cmtp2p.LoadNodeKey(filepath.Join(j.home, "config", "node_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := node.LibP2PID(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitPeers polls the node at url until cond holds for its peer list.
func waitPeers(ctx context.Context, t *testing.T, url, what string, cond func([]string) bool) {
	t.Helper()
	for {
		if cond(peers(ctx, t, url)) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s (peers of %s: %v)", what, url, peers(context.Background(), t, url))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestRemovedMemberDisconnected, on both transports: a node is registered
// by governance to a new validator member and connects and syncs; then the
// member is removed, and the validator disconnects its node at the next
// commit (CometBFT itself asks about a peer only when it connects) and
// keeps it out.
func TestRemovedMemberDisconnected(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"default", "libp2p"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			v := nodetest.New(t, "recheck-"+transport)
			cfg, err := node.LoadConfig(v.Home)
			if err != nil {
				t.Fatal(err)
			}
			p2pAddr := cfg.P2P.ListenAddress[len("tcp://"):]
			genesisFile := filepath.Join(v.Home, node.GenesisFile)
			dir := nodetest.TempDir(t)
			var j *joiner
			if transport == "libp2p" {
				rpcAddr := cfg.RPC.ListenAddress[len("tcp://"):]
				lc := node.NewConfig(v.Home, node.ConfigOptions{Moniker: cfg.Moniker, RPCAddr: rpcAddr, P2PAddr: p2pAddr, LibP2P: true, Fast: true})
				if err := node.WriteConfig(lc); err != nil {
					t.Fatal(err)
				}
				key, err := cmtp2p.LoadNodeKey(lc.NodeKeyFile())
				if err != nil {
					t.Fatal(err)
				}
				vid, err := node.LibP2PID(key)
				if err != nil {
					t.Fatal(err)
				}
				j = newLibP2PJoiner(t, dir, "bank-node", genesisFile, vid+"@"+p2pAddr)
			} else {
				j = newJoiner(t, dir, "bank-node", genesisFile, v.Init.NodeID+"@"+p2pAddr)
			}
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
			jp := peerName(t, j, transport)
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
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if ps := peers(ctx, t, v.URL); slices.Contains(ps, jp) {
					t.Fatalf("the removed member's node is connected again: %v", ps)
				}
			}
		})
	}
}

// TestWrongChainPeerRefused, on both transports: a node whose ID the
// validator allows (an observer) but whose genesis names another chain is
// never taken as a peer. CometBFT's own transport compares chain IDs in its
// handshake; on libp2p idledger's gate asks.
func TestWrongChainPeerRefused(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"default", "libp2p"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			v := nodetest.New(t, "chain-"+transport)
			cfg, err := node.LoadConfig(v.Home)
			if err != nil {
				t.Fatal(err)
			}
			p2pAddr := cfg.P2P.ListenAddress[len("tcp://"):]
			dir := nodetest.TempDir(t)
			g, err := os.ReadFile(filepath.Join(v.Home, node.GenesisFile))
			if err != nil {
				t.Fatal(err)
			}
			other := filepath.Join(dir, "other-genesis.json")
			if err := os.WriteFile(other, []byte(strings.Replace(string(g), `"chain-`+transport+`"`, `"other-chain"`, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			var foreign, friend *joiner
			if transport == "libp2p" {
				rpcAddr := cfg.RPC.ListenAddress[len("tcp://"):]
				lc := node.NewConfig(v.Home, node.ConfigOptions{Moniker: cfg.Moniker, RPCAddr: rpcAddr, P2PAddr: p2pAddr, LibP2P: true, Fast: true})
				if err := node.WriteConfig(lc); err != nil {
					t.Fatal(err)
				}
				key, err := cmtp2p.LoadNodeKey(lc.NodeKeyFile())
				if err != nil {
					t.Fatal(err)
				}
				vid, err := node.LibP2PID(key)
				if err != nil {
					t.Fatal(err)
				}
				foreign = newLibP2PJoiner(t, dir, "foreign", other, vid+"@"+p2pAddr)
				friend = newLibP2PJoiner(t, dir, "friend", filepath.Join(v.Home, node.GenesisFile), vid+"@"+p2pAddr)
			} else {
				foreign = newJoiner(t, dir, "foreign", other, v.Init.NodeID+"@"+p2pAddr)
				friend = newJoiner(t, dir, "friend", filepath.Join(v.Home, node.GenesisFile), v.Init.NodeID+"@"+p2pAddr)
			}
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
			fp, frp := peerName(t, foreign, transport), peerName(t, friend, transport)
			waitPeers(ctx, t, v.URL, "the friend is a peer", func(ps []string) bool { return slices.Contains(ps, frp) })
			waitPeers(ctx, t, v.URL, "the node of another chain is not a peer", func(ps []string) bool { return !slices.Contains(ps, fp) })
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if ps := peers(ctx, t, v.URL); slices.Contains(ps, fp) {
					t.Fatalf("the validator peers with a node of another chain: %v", ps)
				}
			}
		})
	}
}
