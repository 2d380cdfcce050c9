package node_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/cli"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
)

// holderKey is a JPKI signer over a test holder's in-memory key.
type holderKey struct{ h *testca.Holder }

func (s holderKey) Certificate(context.Context) ([]byte, error) { return s.h.CertDER, nil }

func (s holderKey) SignDigestInfo(_ context.Context, di []byte) ([]byte, error) {
	d, err := jpki.ParseDigestInfo(di)
	if err != nil {
		return nil, err
	}
	return rsa.SignPKCS1v15(nil, s.h.Key, crypto.SHA256, d)
}

// TestBlockRetention attests, revokes one attestation, then sets a small
// block_retention by governance. Once the chain has moved on, the early
// blocks, including those holding the attestations and their certificates,
// are gone from the block store, while every attestation's status still
// proves (from a trusted recent header: the genesis block is gone too).
func TestBlockRetention(t *testing.T) {
	t.Parallel()
	e := nodetest.New(t, "retention-test")
	var holders []*testca.Holder
	for i := range 3 {
		h, err := e.CA.Issue(testca.IssueOptions{Name: fmt.Sprintf("holder%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		holders = append(holders, h)
	}
	e.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.New(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	claimHash := sha256.Sum256([]byte("season ticket"))
	var atts []*client.AttestResult
	for _, h := range holders {
		a, err := c.Attest(ctx, client.AttestRequest{Signer: holderKey{h}, MemberKey: e.MemberKey, ClaimType: "ticket", ClaimHash: claimHash[:]})
		if err != nil {
			t.Fatal(err)
		}
		atts = append(atts, a)
	}
	auth := client.MemberAuth{Key: e.MemberKey}
	rev, err := c.RevokeAttestation(ctx, client.RevokeAttestationRequest{ID: atts[0].ID, Reason: "refunded", Member: &auth})
	if err != nil {
		t.Fatal(err)
	}

	const retention = 8
	params, err := c.Params(ctx)
	if err != nil {
		t.Fatal(err)
	}
	params = proto.Clone(params).(*chainpb.Params)
	params.BlockRetention = retention
	p, err := c.Propose(ctx, auth, &chainpb.GovAction{Action: &chainpb.GovAction_SetParams{SetParams: params}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Proposal.Status != chain.ProposalExecuted {
		t.Fatalf("set-params proposal = %v", p.Proposal)
	}

	// Wait until the block store's base has passed the revocation's block.
	rpc, err := rpchttp.New(e.URL, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	var base, latest int64
	for {
		st, err := rpc.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		base, latest = st.SyncInfo.EarliestBlockHeight, st.SyncInfo.LatestBlockHeight
		if base > rev.Height {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the block store still starts at %d (latest %d); want past %d", base, latest, rev.Height)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if latest-base+1 > retention+2 {
		t.Errorf("the block store keeps blocks %d to %d, more than the retention of %d", base, latest, retention)
	}
	for _, h := range []int64{1, atts[0].Height, rev.Height} {
		if _, err := rpc.Block(ctx, &h); err == nil {
			t.Errorf("block %d is still served after pruning (base %d)", h, base)
		}
	}

	// Statuses still prove, from a recent trusted header.
	trustH := latest
	cm, err := rpc.Commit(ctx, &trustH)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := client.New(e.URL, client.WithTrustedHeader(trustH, cm.SignedHeader.Hash()))
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range atts {
		st, err := vc.ClaimStatus(ctx, a.Subject, "ticket", true)
		if err != nil {
			t.Fatalf("status of attestation %x: %v", a.ID, err)
		}
		want := chain.StateValid
		if i == 0 {
			want = chain.StateRevoked
		}
		if st.State != want || !st.Verified || st.Entry == nil || !bytes.Equal(st.Entry.AttestationId, a.ID) {
			t.Errorf("status of attestation %x = %s (verified %v), want %s", a.ID, st.State, st.Verified, want)
		}
		if i == 0 && (st.Revocation == nil || st.Revocation.Reason != "refunded" || st.Revocation.Height != rev.Height) {
			t.Errorf("revocation = %v, want refunded at height %d", st.Revocation, rev.Height)
		}
	}
	// The same through the CLI.
	var out, errb bytes.Buffer
	args := []string{"query", "status", "--node", e.URL, "--subject", fmt.Sprintf("%x", atts[1].Subject), "--claim-type", "ticket",
		"--verify", "--trust-height", fmt.Sprint(trustH), "--trust-hash", cm.SignedHeader.Hash().String(), "-o", "json"}
	if code := cli.Main(ctx, args, &out, &errb); code != cli.ExitOK {
		t.Fatalf("idledger %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	var sv struct {
		State    string `json:"state"`
		Verified bool   `json:"verified"`
	}
	if err := json.Unmarshal(out.Bytes(), &sv); err != nil || sv.State != "valid" || !sv.Verified {
		t.Errorf("query status --verify after pruning = %s (%v)", out.String(), err)
	}
	// Verifying from the genesis needs block 1, which is gone.
	// The client says so, and what to do instead.
	if _, err := c.ClaimStatus(ctx, atts[1].Subject, "ticket", true); err == nil {
		t.Errorf("a status verified from the genesis succeeded though block 1 was pruned")
	} else if !strings.Contains(err.Error(), "which this node pruned") || !strings.Contains(err.Error(), "--trust-height") {
		t.Errorf("verifying from the genesis after pruning: %v; want an error that says block 1 was pruned and what to pass", err)
	}
}
