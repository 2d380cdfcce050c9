package testnet_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/loadgen"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
	"github.com/idledger/idledger/testnet"
)

// binary is the idledger command built once by TestMain: the nodes run it,
// as "idledger testnet up" runs itself.
var binary string

func TestMain(m *testing.M) { os.Exit(nodetest.RunWithBinary(m, &binary)) }

// tn is a running 4-validator testnet under test.
type tn struct {
	t       *testing.T
	ctx     context.Context
	dir     string
	net     *testnet.Network
	rpc     []*rpchttp.HTTP
	holders string
}

// TestFaults runs the fault scenario on a 4-validator testnet
// whose nodes are separate idledger processes, through RPC and the
// idledger command only, once on each transport (CometBFT's own, then its
// go-libp2p one), one after the other:
//
//  1. an attestation through node 0 reads back valid, with proofs, through node 3;
//  2. with one validator killed (SIGKILL), blocks keep coming and an attestation commits;
//  3. restarted, that validator catches up and all four agree on the app hash;
//  4. with two of four stopped, no block is made and the two left agree;
//     restarted, blocks resume and nothing committed is lost.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator testnet")
	}
	for _, transport := range []string{testnet.TransportComet, testnet.TransportLibP2P} {
		t.Run(transport, func(t *testing.T) { testFaults(t, transport) })
	}
}

func testFaults(t *testing.T, transport string) {
	// libp2p reconnects slowly (a restarted peer waits for its next status
	// round, about 10 s) and more so on a loaded CI machine: give it room.
	slack := time.Duration(1)
	if transport == testnet.TransportLibP2P {
		slack = 2
	}
	ctx, cancel := context.WithTimeout(t.Context(), slack*150*time.Second)
	defer cancel()
	x := &tn{t: t, ctx: ctx, dir: filepath.Join(nodetest.TempDir(t), "tn")}
	m, err := testnet.Init(testnet.InitOptions{Dir: x.dir, Validators: 4, Holders: 1, ChainID: "faults", Transport: transport,
		ClaimTypes: []string{"kyc", "age-over-18"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.TransportName(); got != transport {
		t.Fatalf("manifest transport %q, want %q", got, transport)
	}
	if transport == testnet.TransportLibP2P {
		x.wantLibP2P(m)
	}
	x.holders = filepath.Join(x.dir, m.CADir, testca.HoldersDir)
	if x.net, err = testnet.Open(x.dir, testnet.OpenOptions{Binary: binary}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := x.net.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			for i := range m.Nodes {
				t.Logf("end of %s:\n%s", x.net.LogPath(i), testnet.LogTail(x.net.LogPath(i), 25))
			}
		}
	})
	for i := range m.Nodes {
		c, err := rpchttp.NewWithTimeout(x.net.RPCURL(i), "/websocket", 5)
		if err != nil {
			t.Fatal(err)
		}
		x.rpc = append(x.rpc, c)
	}
	if err := x.net.Start(ctx, nil, 60*time.Second); err != nil {
		t.Fatal(err)
	}

	// 1. Attest through node 0; read back, verified, through node 3.
	a1 := x.attest(0, "kyc")
	x.wantValid(3, "kyc")
	t.Logf("1: attestation %s at height %d through node 0 reads valid through node 3", a1.ID, a1.Height)

	// 2. Kill -9 one validator: blocks keep coming, an attestation commits.
	if err := x.net.KillNode(2); err != nil {
		t.Fatal(err)
	}
	live := []int{0, 1, 3}
	h := x.maxHeight(live)
	x.waitHeight(live, h+3, slack*30*time.Second)
	a2 := x.attest(1, "age-over-18")
	t.Logf("2: node 2 killed; blocks went on past %d and attestation %s committed at height %d", h+3, a2.ID, a2.Height)

	// 3. Restart it: it catches up and all four agree.
	restarted := time.Now()
	if err := x.net.StartNode(2); err != nil {
		t.Fatal(err)
	}
	all := []int{0, 1, 2, 3}
	h = x.maxHeight(live)
	x.waitHeight(all, h+1, slack*45*time.Second)
	caughtUp := time.Since(restarted)
	agreed := x.agree(all)
	t.Logf("3: node 2 restarted and caught up in %s; all four have block %d with app hash %X", caughtUp.Round(100*time.Millisecond), agreed.height, agreed.appHash)

	// 4. Stop two of four: no new blocks, no fork.
	for _, i := range []int{2, 3} {
		if err := x.net.StopNode(i, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	left := []int{0, 1}
	time.Sleep(time.Second) // a block in flight may still land
	halted := x.maxHeight(left)
	time.Sleep(3 * time.Second) // a dozen block times at 250ms
	if now := x.maxHeight(left); now != halted {
		t.Fatalf("4: with two of four validators stopped the chain went from height %d to %d", halted, now)
	}
	before := x.agree(left)
	if before.height != halted {
		t.Fatalf("4: nodes 0 and 1 are at different heights: %v", x.heights(left))
	}
	t.Logf("4: two stopped; nodes 0 and 1 halted at height %d with the same block %X", halted, before.blockHash)

	// Bring them back: blocks resume and nothing committed is lost.
	restarted = time.Now()
	for _, i := range []int{2, 3} {
		if err := x.net.StartNode(i); err != nil {
			t.Fatal(err)
		}
	}
	x.waitHeight(all, halted+3, slack*60*time.Second)
	resumed := time.Since(restarted)
	for _, i := range all {
		hd := x.header(i, halted)
		if !bytes.Equal(hd.Hash(), before.blockHash) {
			t.Errorf("node %d has block %X at height %d, not %X that was committed before", i, hd.Hash(), halted, before.blockHash)
		}
	}
	after := x.agree(all)
	x.wantValid(2, "kyc")
	x.wantValid(3, "age-over-18")
	t.Logf("4: back; all four at height %d within %s, all agree (app hash %X), both attestations read valid", after.height, resumed.Round(100*time.Millisecond), after.appHash)

	// The load command on the same testnet, briefly: everything it sends
	// commits and the state checks out.
	out := x.run("testnet", "load", "--dir", x.dir, "--rate", "20", "--duration", "2s", "--wait", "20s", "--app-check", "-o", "json")
	var lr loadgen.LoadResult
	if err := json.Unmarshal(out, &lr); err != nil {
		t.Fatalf("testnet load: %v in %s", err, out)
	}
	if lr.Sent != 40 || lr.Committed != lr.Sent || len(lr.Refusals) != 0 || lr.AppCheck == nil || !lr.AppCheck.OK {
		t.Fatalf("testnet load: sent %d, committed %d, refusals %v; want 40 committed, none refused, app check ok:\n%s",
			lr.Sent, lr.Committed, lr.Refusals, out)
	}
	t.Logf("load: %d sent, %d committed, p50 %s", lr.Sent, lr.Committed, lr.Latency.P50.D())
}

func TestInitRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := testnet.Init(testnet.InitOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Init on a non-empty directory: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err != nil {
		t.Fatalf("Init removed what it did not write: %v", err)
	}
	for _, o := range []testnet.InitOptions{
		{Dir: t.TempDir(), Validators: testnet.MaxValidators + 1},
		{Dir: t.TempDir(), App: "other"},
		{Dir: t.TempDir(), Transport: "tcp"},
		{Dir: t.TempDir(), BasePort: 65530},
	} {
		if _, err := testnet.Init(o); err == nil {
			t.Errorf("Init(%+v) succeeded", o)
		}
	}
}

// wantLibP2P checks that a libp2p testnet's homes say so: CometBFT's
// libp2p transport on, PEX off, no persistent peers, and every other node
// as a persistent bootstrap peer by its libp2p ID at its p2p address.
func (x *tn) wantLibP2P(m *testnet.Manifest) {
	x.t.Helper()
	for i, n := range m.Nodes {
		c, err := node.LoadConfig(filepath.Join(x.dir, n.Home))
		if err != nil {
			x.t.Fatal(err)
		}
		lc := c.P2P.LibP2PConfig
		if !lc.Enabled || c.P2P.PexReactor || c.P2P.PersistentPeers != "" || len(lc.BootstrapPeers) != len(m.Nodes)-1 {
			x.t.Fatalf("%s: libp2p %v, pex %v, persistent peers %q, %d bootstrap peers; want libp2p, no pex, none, %d",
				n.Name, lc.Enabled, c.P2P.PexReactor, c.P2P.PersistentPeers, len(lc.BootstrapPeers), len(m.Nodes)-1)
		}
		for _, bp := range lc.BootstrapPeers {
			k := slices.IndexFunc(m.Nodes, func(p testnet.Node) bool { return p.LibP2PID == bp.ID })
			if k < 0 || k == i || m.Nodes[k].P2P != bp.Host || !bp.Persistent {
				x.t.Fatalf("%s: bootstrap peer %+v is not another node, persistent, at its p2p address", n.Name, bp)
			}
		}
		key, err := p2p.LoadNodeKey(c.NodeKeyFile())
		if err != nil {
			x.t.Fatal(err)
		}
		if id, err := node.LibP2PID(key); err != nil || id != n.LibP2PID || string(key.ID()) != n.NodeID {
			x.t.Fatalf("%s: libp2p ID %s (%v), node ID %s from the node key; manifest %s, %s", n.Name, id, err, key.ID(), n.LibP2PID, n.NodeID)
		}
	}
}

type attestResult struct {
	ID     string `json:"id"`
	Height int64  `json:"height"`
}

// attest has member orgI attest claimType about holder1 through node i,
// with the idledger command.
func (x *tn) attest(i int, claimType string) attestResult {
	x.t.Helper()
	claim := sha256.Sum256([]byte(claimType))
	out := x.run("attest", "--node", x.net.RPCURL(i),
		"--signer", "soft:"+filepath.Join(x.holders, "holder1.key")+","+filepath.Join(x.holders, "holder1.crt"),
		"--member-key", filepath.Join(x.net.Home(i), "config", "member_key.pem"),
		"--claim-type", claimType, "--claim-hash", hex.EncodeToString(claim[:]), "--timeout", "30s", "-o", "json")
	var r attestResult
	if err := json.Unmarshal(out, &r); err != nil || r.ID == "" {
		x.t.Fatalf("attest through node %d: %v in %s", i, err, out)
	}
	return r
}

// wantValid checks, with the idledger command, that holder1's claimType
// reads valid through node i, verified from the genesis in node i's home.
func (x *tn) wantValid(i int, claimType string) {
	x.t.Helper()
	out := x.run("query", "status", "--node", x.net.RPCURL(i), "--home", x.net.Home(i),
		"--cert", filepath.Join(x.holders, "holder1.crt"), "--claim-type", claimType, "--verify", "-o", "json")
	var st struct {
		State    string `json:"state"`
		Verified bool   `json:"verified"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		x.t.Fatalf("query status through node %d: %v in %s", i, err, out)
	}
	if st.State != "valid" || !st.Verified {
		x.t.Fatalf("query status %s through node %d: state %q, verified %v; want valid, verified", claimType, i, st.State, st.Verified)
	}
}

func (x *tn) run(args ...string) []byte {
	x.t.Helper()
	cmd := exec.CommandContext(x.ctx, binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		x.t.Fatalf("idledger %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func (x *tn) heights(nodes []int) []int64 {
	x.t.Helper()
	var hs []int64
	for _, i := range nodes {
		st, err := x.rpc[i].Status(x.ctx)
		if err != nil {
			x.t.Fatalf("node %d status: %v", i, err)
		}
		hs = append(hs, st.SyncInfo.LatestBlockHeight)
	}
	return hs
}

func (x *tn) maxHeight(nodes []int) int64 { return slices.Max(x.heights(nodes)) }

func (x *tn) waitHeight(nodes []int, h int64, timeout time.Duration) {
	x.t.Helper()
	if err := x.net.WaitHeight(x.ctx, nodes, h, timeout, nil); err != nil {
		x.t.Fatal(err)
	}
}

func (x *tn) header(i int, h int64) *headerView {
	x.t.Helper()
	r, err := x.rpc[i].Header(x.ctx, &h)
	if err != nil || r.Header == nil {
		x.t.Fatalf("node %d header %d: %v", i, h, err)
	}
	return &headerView{r.Header.Hash(), r.Header.AppHash}
}

type headerView struct {
	hash    []byte
	appHash []byte
}

func (v *headerView) Hash() []byte { return v.hash }

type agreement struct {
	height             int64
	blockHash, appHash []byte
}

// agree checks that the nodes have the same block, and so the same app
// hash, at the highest height they all have.
func (x *tn) agree(nodes []int) agreement {
	x.t.Helper()
	h := slices.Min(x.heights(nodes))
	var a agreement
	for k, i := range nodes {
		hd := x.header(i, h)
		if k == 0 {
			a = agreement{h, hd.hash, hd.appHash}
			continue
		}
		if !bytes.Equal(hd.hash, a.blockHash) || !bytes.Equal(hd.appHash, a.appHash) {
			x.t.Fatalf("at height %d node %d has block %X app hash %X, node %d block %X app hash %X",
				h, i, hd.hash, hd.appHash, nodes[0], a.blockHash, a.appHash)
		}
	}
	return a
}
