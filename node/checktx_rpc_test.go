package node_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/testca"
)

// TestRPCCheckTxAdmitsNothing: asking a node's RPC /check_tx about a
// transaction answers without admitting it, so the transaction can still
// be broadcast. (Counted as an admission, the question took the member's
// sequence in the mempool's view, and the broadcast that followed was
// refused: the same that let anyone replay a waiting transaction during a
// recheck and have it dropped.)
func TestRPCCheckTxAdmitsNothing(t *testing.T) {
	t.Parallel()
	e := nodetest.New(t, "checktx-rpc")
	e.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	h, err := e.CA.Issue(testca.IssueOptions{Name: "dry-run-holder"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewSoft(h.Key, h.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	var tx []byte
	gen, err := client.New(e.URL, client.WithGenerateOnly(client.Offline{ChainID: e.ChainID, Member: e.Init.MemberID, Sequence: 0,
		Write: func(b []byte) error { tx = b; return nil }}))
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("dry run"))
	if _, err := gen.Attest(ctx, client.AttestRequest{Signer: s, MemberKey: e.MemberKey, ClaimType: "kyc", ClaimHash: hash[:]}); !errors.Is(err, client.ErrGenerated) {
		t.Fatalf("generating the attestation: %v", err)
	}

	rc, err := rpchttp.New(e.URL, "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	chk, err := rc.CheckTx(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if chk.Code != 0 {
		t.Fatalf("check_tx: code %d %s", chk.Code, chk.Log)
	}
	res, err := rc.BroadcastTxSync(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 {
		t.Fatalf("broadcast after check_tx: code %d %s, want 0 (check_tx took the member's sequence)", res.Code, res.Log)
	}
}
