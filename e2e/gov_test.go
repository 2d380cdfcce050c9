// Package e2e holds end-to-end tests that need a running multi-validator
// testnet: the validators are separate idledger processes (package
// testnet) driven through RPC and the idledger command.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
	"github.com/idledger/idledger/testnet"
)

// binary is the idledger command the testnet's nodes run, built once.
var binary string

func TestMain(m *testing.M) { os.Exit(nodetest.RunWithBinary(m, &binary)) }

type proposal struct {
	ID     uint64   `json:"id"`
	Status string   `json:"status"`
	Votes  []string `json:"votes"`
	Result string   `json:"result"`
}

// TestGovernanceOnTestnet runs a 4-validator testnet (governor threshold
// 3) and, through the idledger command: governors add a fifth member with
// the validator role and its node's ID; its node, started then, may peer
// and syncs; a vote gives its consensus key power and it signs blocks; a
// vote sets the power to 0 and it stops; a vote removes the member, which
// can then no longer attest.
func TestGovernanceOnTestnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator testnet")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir, m, net := startTestnet(ctx, t, testnet.InitOptions{Validators: 4, Holders: 1, ChainID: "gov-e2e"})
	url := func(i int) string { return net.RPCURL(i) }
	key := func(i int) string { return filepath.Join(net.Home(i), node.MemberKeyFile) }

	// The fifth node's home: the testnet's genesis, fresh keys, the four
	// validators as persistent peers. Not started yet.
	var peers []string
	for _, n := range m.Nodes {
		peers = append(peers, n.NodeID+"@"+n.P2P)
	}
	home5 := filepath.Join(dir, "node4")
	rpc5 := nodetest.FreeAddr(t)
	cfg5 := node.NewConfig(home5, node.ConfigOptions{Moniker: "node4", RPCAddr: rpc5, P2PAddr: nodetest.FreeAddr(t), PersistentPeers: peers, Fast: true})
	if err := node.WriteConfig(cfg5); err != nil {
		t.Fatal(err)
	}
	keys5, err := node.GenerateKeys(cfg5)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(filepath.Join(net.Home(0), node.GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg5.GenesisFile(), g, 0o600); err != nil {
		t.Fatal(err)
	}
	consPub := keys5.Validator.Key.PubKey
	consB64 := base64.StdEncoding.EncodeToString(consPub.Bytes())

	// govern proposes through node 0 as org0 and has org1 and org2 vote
	// through nodes 1 and 2; the third vote executes it.
	govern := func(what string, args ...string) {
		t.Helper()
		var p proposal
		ok(t, &p, append(append([]string{"gov", "propose"}, args...), "--node", url(0), "--member-key", key(0), "-o", "json")...)
		if p.Status != "open" {
			t.Fatalf("%s: proposal %+v, want open at threshold 3", what, p)
		}
		ok(t, &p, "gov", "vote", fmt.Sprint(p.ID), "--node", url(1), "--member-key", key(1), "-o", "json")
		if p.Status != "open" || len(p.Votes) != 2 {
			t.Fatalf("%s: after the second vote %+v", what, p)
		}
		ok(t, &p, "gov", "vote", fmt.Sprint(p.ID), "--node", url(2), "--member-key", key(2), "-o", "json")
		if p.Status != "executed" {
			t.Fatalf("%s: after the third vote %+v", what, p)
		}
		t.Logf("%s: proposal %d %s", what, p.ID, p.Result)
	}

	govern("add org4", "add-member", "--id", "org4", "--pub-key-file", filepath.Join(home5, node.MemberKeyFile),
		"--roles", "validator,attester", "--node-id", keys5.NodeID())
	govern("org4 may attest kyc", "register-claim-type", "--name", "kyc", "--attester", "org0,org1,org2,org3,org4", "--max-validity", "8760h")

	// The fifth node may now peer; it syncs.
	logf, err := os.Create(filepath.Join(dir, "node4.log"))
	if err != nil {
		t.Fatal(err)
	}
	n5, err := node.Start(home5, node.StartOptions{LogWriter: logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n5.Stop(); err != nil {
			t.Error(err)
		}
		logf.Close()
	})
	rpcs := make([]*rpchttp.HTTP, 4)
	for i := range rpcs {
		if rpcs[i], err = rpchttp.New(url(i), "/websocket"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := rpcs[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	nodetest.WaitCaughtUp(wctx, t, "http://"+rpc5, st.SyncInfo.LatestBlockHeight)
	wcancel()

	// Attest as org4 through its own node.
	holder := filepath.Join(dir, m.CADir, testca.HoldersDir, m.Holders[0])
	claim := filepath.Join(dir, "claim.txt")
	if err := os.WriteFile(claim, []byte("e2e"), 0o600); err != nil {
		t.Fatal(err)
	}
	attest := []string{"attest", "--node", "http://" + rpc5, "--member-key", filepath.Join(home5, node.MemberKeyFile),
		"--member", "org4", "--claim-type", "kyc", "--claim-file", claim, "--signer", "soft:" + holder + ".key," + holder + ".crt", "-o", "json"}
	ok(t, nil, attest...)

	// Power: it joins the validator set and signs blocks.
	govern("power org4", "set-validator-power", "--member", "org4", "--pub-key", consB64, "--power", "10")
	addr := consPub.Address()
	signed := waitFor(ctx, t, rpcs[3], 40*time.Second, func(vals *cmttypes.ValidatorSet, c *cmttypes.Commit) bool {
		_, v := vals.GetByAddress(addr)
		return v != nil && signedBy(c, addr)
	})
	t.Logf("the fifth validator signed the commit of block %d", signed)
	if vals, err := client.New(url(3)); err == nil {
		if vs, err := vals.Validators(ctx); err != nil || len(vs) != 5 {
			t.Errorf("the app's validators = %v, %v; want 5", vs, err)
		}
	}

	// Power 0: it leaves the set and signs no more.
	govern("unpower org4", "set-validator-power", "--member", "org4", "--pub-key", consB64, "--power", "0")
	left := waitFor(ctx, t, rpcs[3], 40*time.Second, func(vals *cmttypes.ValidatorSet, c *cmttypes.Commit) bool {
		_, v := vals.GetByAddress(addr)
		return v == nil && vals.Size() == 4 && !signedBy(c, addr)
	})
	t.Logf("the fifth validator is out of the set from block %d", left)

	// Removed by vote: no longer a member, its attestations refused.
	govern("remove org4", "remove-member", "org4")
	// Asked through a validator's node: the validators disconnect the
	// removed member's node after the commit that removes it, which may
	// come before that node has the block (node.TestRemovedMemberDisconnected).
	if st, err := rpcs[2].Status(ctx); err == nil {
		nodetest.WaitHeight(ctx, t, url(0), st.SyncInfo.LatestBlockHeight)
	}
	viaValidator := slices.Clone(attest)
	viaValidator[2] = url(0)
	refused(t, `member "org4": not found`, viaValidator...)
}

// waitFor polls the latest blocks at c until cond holds for a block's
// validator set and its commit; it returns that height.
func waitFor(ctx context.Context, t *testing.T, c *rpchttp.HTTP, timeout time.Duration, cond func(*cmttypes.ValidatorSet, *cmttypes.Commit) bool) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h := st.SyncInfo.LatestBlockHeight
		cm, err := c.Commit(ctx, &h)
		if err != nil {
			t.Fatal(err)
		}
		vr, err := c.Validators(ctx, &h, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cond(cmttypes.NewValidatorSet(vr.Validators), cm.Commit) {
			return h
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the validator set did not change as expected within %s", timeout)
	return 0
}

func signedBy(c *cmttypes.Commit, addr []byte) bool {
	for _, s := range c.Signatures {
		if s.BlockIDFlag == cmttypes.BlockIDFlagCommit && bytes.Equal(s.ValidatorAddress, addr) {
			return true
		}
	}
	return false
}

func ok(t *testing.T, v any, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), args, &out, &errb); code != cli.ExitOK {
		t.Fatalf("idledger %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	if v != nil {
		if err := json.Unmarshal(out.Bytes(), v); err != nil {
			t.Fatalf("idledger %s: %v in %s", strings.Join(args, " "), err, out.String())
		}
	}
}

func refused(t *testing.T, want string, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errb)
	if code != cli.ExitFailure || !strings.Contains(errb.String(), want) {
		t.Errorf("idledger %s: exit %d, stderr %q; want exit 1 with %q", strings.Join(args, " "), code, errb.String(), want)
	}
}

// startTestnet makes the testnet opts describes in a fresh temporary
// directory (opts.Dir is set here) and starts its idledger processes. They
// are stopped when the test ends, after the tail of each node's log is
// shown if the test failed. It returns the directory, the manifest and the
// running network.
func startTestnet(ctx context.Context, t *testing.T, opts testnet.InitOptions) (string, *testnet.Manifest, *testnet.Network) {
	t.Helper()
	opts.Dir = filepath.Join(nodetest.TempDir(t), "tn")
	m, err := testnet.Init(opts)
	if err != nil {
		t.Fatal(err)
	}
	net, err := testnet.Open(opts.Dir, testnet.OpenOptions{Binary: binary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := net.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			for i := range m.Nodes {
				t.Logf("end of %s:\n%s", net.LogPath(i), testnet.LogTail(net.LogPath(i), 30))
			}
		}
	})
	if err := net.Start(ctx, nil, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	return opts.Dir, m, net
}
