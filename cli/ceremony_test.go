package cli_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
)

// startNodes runs "idledger start" for every home at once (a network of
// several validators commits nothing until most of them run). The nodes
// stop when the test ends; a node's log is printed when the test fails.
func startNodes(t *testing.T, homes ...string) {
	t.Helper()
	for _, home := range homes {
		background(t, "start", "--home", home)
	}
}

func earliestHeight(ctx context.Context, t *testing.T, url string) (earliest, latest int64) {
	t.Helper()
	c := rpcClient(t, url)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.SyncInfo.EarliestBlockHeight, st.SyncInfo.LatestBlockHeight
}

// TestCeremonyFourOrganisationsThenStateSyncJoin is the operator's path of
// docs/operators.md through the CLI: four organisations make their keys in
// four homes, send signed join requests, one assembles the genesis, each
// verifies and installs it, and the network commits blocks. An attestation
// is written; once the nodes have pruned the blocks holding it (block
// retention 5, a snapshot every 5 heights), a fifth organisation is admitted
// by governance from its join request, joins by state sync with
// "idledger join", catches up, and answers a verified status query about
// that attestation.
func TestCeremonyFourOrganisationsThenStateSyncJoin(t *testing.T) {
	dir := nodetest.TempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ca := filepath.Join(dir, "ca")
	ok(t, nil, "ca", "init", "--dir", ca)
	var holder struct{ Certificate, Subject, Signer string }
	ok(t, &holder, "ca", "issue", "--dir", ca, "--name", "holder1", "-o", "json")

	const chainID = "ceremony"
	type org struct{ home, member, url, request string }
	var orgs []org
	for i := 1; i <= 5; i++ {
		o := org{home: filepath.Join(dir, fmt.Sprintf("org%d", i)), member: fmt.Sprintf("org%d", i)}
		rpc := nodetest.FreeAddr(t)
		o.url = "http://" + rpc
		var res struct {
			NodeID      string `json:"node_id"`
			GenesisFile string `json:"genesis_file"`
		}
		ok(t, &res, "init", "--home", o.home, "--keys-only", "--member", o.member, "--chain-id", chainID,
			"--p2p-addr", nodetest.FreeAddr(t), "--rpc-addr", rpc, "--fast",
			"--snapshot-interval", "5", "--snapshot-keep-recent", "10", "--log-level", "*:error,statesync:info", "-o", "json")
		if res.NodeID == "" || res.GenesisFile != "" {
			t.Fatalf("init --keys-only = %+v; want a node ID and no genesis", res)
		}
		if _, err := os.Stat(filepath.Join(o.home, node.GenesisFile)); err == nil {
			t.Fatalf("init --keys-only wrote a genesis")
		}
		o.request = filepath.Join(dir, o.member+".json")
		roles := "governor,attester,revoker,validator"
		if i == 5 {
			roles = "attester" // a full node, joining later
		}
		ok(t, nil, "genesis", "join-request", "--home", o.home, "--roles", roles, "--out", o.request)
		orgs = append(orgs, o)
	}
	founders := orgs[:4]

	genesisFile := filepath.Join(dir, "genesis.json")
	args := []string{"genesis", "assemble", "--chain-id", chainID, "--anchor", filepath.Join(ca, "ca.crt"),
		"--governor-threshold", "1", "--block-retention", "5", "--out", genesisFile}
	refused(t, `member ID is the same as "org1"'s`, append(args, founders[0].request, founders[0].request)...)
	for _, o := range founders {
		args = append(args, o.request)
	}
	ok(t, nil, args...)

	type summary struct {
		Hash       string `json:"hash"`
		Validators []struct {
			Member string `json:"member"`
			Power  int64  `json:"power"`
		} `json:"validators"`
		Members []struct {
			ID         string `json:"id"`
			P2PAddress string `json:"p2p_address"`
		} `json:"members"`
	}
	var sums []summary
	for _, o := range founders {
		var s summary
		ok(t, &s, "genesis", "verify", "--home", o.home, genesisFile, "-o", "json")
		sums = append(sums, s)
		if s.Hash != sums[0].Hash || len(s.Validators) != 4 || len(s.Members) != 4 || s.Members[0].P2PAddress == "" {
			t.Fatalf("genesis verify = %+v", s)
		}
		var inst struct {
			Hash   string   `json:"hash"`
			Member string   `json:"member"`
			Peers  []string `json:"persistent_peers"`
		}
		ok(t, &inst, "genesis", "install", "--home", o.home, genesisFile, "-o", "json")
		if inst.Hash != sums[0].Hash || inst.Member != o.member || len(inst.Peers) != 3 {
			t.Fatalf("genesis install = %+v", inst)
		}
	}
	text := ok(t, nil, "genesis", "verify", "--home", founders[0].home, genesisFile)
	if !strings.Contains(text, "genesis hash:       "+sums[0].Hash) || !strings.Contains(text, "<- this home") {
		t.Errorf("genesis verify text:\n%s", text)
	}

	var homes []string
	for _, o := range founders {
		homes = append(homes, o.home)
	}
	startNodes(t, homes...)
	for _, o := range founders {
		nodetest.WaitHeight(ctx, t, o.url, 2)
	}

	claim := writeFile(t, dir, "claim.txt", "KYC done")
	var att struct {
		ID     string `json:"id"`
		Height int64  `json:"height"`
	}
	ok(t, &att, "attest", "--node", founders[1].url, "--member-key", filepath.Join(founders[1].home, node.MemberKeyFile),
		"--claim-type", "kyc", "--claim-file", claim, "--signer", holder.Signer, "-o", "json")

	// The fifth organisation is admitted from its join request.
	var prop struct {
		Status string `json:"status"`
	}
	ok(t, &prop, "gov", "propose", "add-member", "--from-request", orgs[4].request, "--node", founders[0].url,
		"--member-key", filepath.Join(founders[0].home, node.MemberKeyFile), "-o", "json")
	if prop.Status != "executed" {
		t.Fatalf("add-member proposal = %+v", prop)
	}

	// Wait until the network has pruned the block with the attestation.
	for {
		base, _ := earliestHeight(ctx, t, founders[0].url)
		if base > att.Height+1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("node 1's block store still starts at %d; want past %d", base, att.Height+1)
		case <-time.After(200 * time.Millisecond):
		}
	}

	newcomer := orgs[4]
	var joined struct {
		TrustHeight int64    `json:"trust_height"`
		TrustHash   string   `json:"trust_hash"`
		Peers       []string `json:"persistent_peers"`
	}
	refused(t, "at least two independent RPC servers", "join", "--home", newcomer.home, "--genesis", genesisFile, "--rpc", founders[0].url+","+founders[0].url)
	ok(t, &joined, "join", "--home", newcomer.home, "--genesis", genesisFile,
		"--rpc", founders[0].url+","+founders[2].url, "-o", "json")
	if joined.TrustHeight <= att.Height || len(joined.TrustHash) != 64 || len(joined.Peers) != 4 {
		t.Fatalf("join = %+v", joined)
	}
	startNodes(t, newcomer.home)
	_, latest := earliestHeight(ctx, t, founders[0].url)
	nodetest.WaitCaughtUp(ctx, t, newcomer.url, latest)
	if base, _ := earliestHeight(ctx, t, newcomer.url); base <= att.Height {
		t.Errorf("the new node's block store starts at %d: it did not state-sync past the pruned blocks", base)
	}

	// A verified status from the new node, from a checkpoint two nodes
	// agree on.
	h, hash, err := client.TrustedCheckpoint(ctx, []string{newcomer.url, founders[3].url})
	if err != nil {
		t.Fatal(err)
	}
	var st statusJSON
	ok(t, &st, "query", "status", "--node", newcomer.url, "--cert", holder.Certificate, "--claim-type", "kyc",
		"--verify", "--trust-height", fmt.Sprint(h), "--trust-hash", hex.EncodeToString(hash), "-o", "json")
	if st.State != "valid" || !st.Verified || st.Attestation == nil || st.Attestation.ID != att.ID {
		t.Errorf("status from the new node = %+v", st)
	}
}
