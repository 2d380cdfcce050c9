package client_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/memberkey"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/presentation"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/testca"
)

// The examples below are the steps a relying party takes, run against a
// real single-validator node that the first of them starts (and the test
// binary's exit stops). They print only what does not change between runs.

type exampleWorld struct {
	url       string
	genesis   *cmttypes.GenesisDoc
	ca        *testca.CA
	memberKey ed25519.PrivateKey
	node      *node.Node
	dir       string
}

var (
	exOnce  sync.Once
	exWorld *exampleWorld
	exErr   error
)

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// example returns the shared node, starting it on first use.
func example() *exampleWorld {
	exOnce.Do(func() {
		w := &exampleWorld{}
		exWorld, exErr = w, w.start()
	})
	if exErr != nil {
		panic(exErr)
	}
	return exWorld
}

func (w *exampleWorld) start() error {
	dir, err := os.MkdirTemp("", "idledger-client-example-")
	if err != nil {
		return err
	}
	w.dir = dir
	if w.ca, err = testca.Init(filepath.Join(dir, "ca"), testca.InitOptions{}); err != nil {
		return err
	}
	res, err := node.Init(node.InitOptions{
		Home: filepath.Join(dir, "home"), ChainID: "client-examples",
		AnchorFiles: []string{filepath.Join(dir, "ca", testca.CertFile)},
		Config:      node.ConfigOptions{RPCAddr: freeAddr(), P2PAddr: freeAddr(), Fast: true},
	})
	if err != nil {
		return err
	}
	if w.memberKey, err = memberkey.Read(res.MemberKeyFile); err != nil {
		return err
	}
	if w.genesis, err = cmttypes.GenesisDocFromFile(res.GenesisFile); err != nil {
		return err
	}
	if w.node, err = node.Start(res.Home, node.StartOptions{LogWriter: io.Discard}); err != nil {
		return err
	}
	w.url = w.node.RPCURL()
	c, err := client.New(w.url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if st, err := c.RPC().Status(ctx); err == nil && st.SyncInfo.LatestBlockHeight >= 2 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// holder issues a test card holder and attests claimType about them.
func (w *exampleWorld) holder(name, claimType string) (signer.Signer, *client.AttestResult) {
	h, err := w.ca.Issue(testca.IssueOptions{Name: name})
	if err != nil {
		panic(err)
	}
	card, err := signer.NewSoft(h.Key, h.CertDER)
	if err != nil {
		panic(err)
	}
	c := w.client()
	hash := sha256.Sum256([]byte(name + " " + claimType))
	res, err := c.Attest(context.Background(), client.AttestRequest{Signer: card, MemberKey: w.memberKey, ClaimType: claimType, ClaimHash: hash[:]})
	if err != nil {
		panic(err)
	}
	return card, res
}

func (w *exampleWorld) client() *client.Client {
	c, err := client.New(w.url, client.WithGenesis(w.genesis), client.WithPollInterval(50*time.Millisecond))
	if err != nil {
		panic(err)
	}
	return c
}

// Step 1: a relying party connects to a node and verifies from a genesis
// it holds, then reads the claim-type registry: which types exist, who may
// attest them, for how long.
func ExampleClient_ClaimTypes() {
	w := example()
	c, err := client.New(w.url, client.WithGenesis(w.genesis))
	if err != nil {
		panic(err)
	}
	types, err := c.ClaimTypes(context.Background())
	if err != nil {
		panic(err)
	}
	for _, ct := range types {
		fmt.Println(ct.Name, ct.Attesters, time.Duration(ct.MaxValidity)*time.Second, ct.Retired)
	}
	// Output:
	// fare-eligibility [operator] 8760h0m0s false
	// kyc [operator] 8760h0m0s false
	// ticket [operator] 8760h0m0s false
}

// Step 2: the relying party asks whether a holder (by identity commitment)
// holds a valid claim, with a Merkle proof checked against a
// light-client-verified header; the answer names the attester and carries
// the type's registry entry, proven under the same app hash.
func ExampleClient_ClaimStatus() {
	w := example()
	_, att := w.holder("status-holder", "kyc")
	c := w.client()
	st, err := c.ClaimStatus(context.Background(), att.Subject, "kyc", true)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.State, "verified:", st.Verified, "trust:", st.Trust.Source)
	fmt.Println("attester:", st.Entry.Attester, "allowed:", chain.AttesterAllowed(st.ClaimTypeEntry, st.Entry.Attester))
	fmt.Println("registry:", st.ClaimTypeEntry.Name, st.ClaimTypeEntry.Attesters)
	// Output:
	// valid verified: true trust: genesis file
	// attester: operator allowed: true
	// registry: kyc [operator]
}

// Step 3: at the counter, the relying party issues a challenge; the
// holder's card signs a presentation bound to it and to the relying
// party's name; the relying party verifies it: certificate chain to the
// chain's proven anchors, signature, single use and the holder's status.
func Example_presentation() {
	w := example()
	card, _ := w.holder("counter-holder", "kyc")
	c := w.client()
	ctx := context.Background()
	chainID, err := c.ChainID(ctx)
	if err != nil {
		panic(err)
	}
	anchors, err := provenAnchors(ctx, c)
	if err != nil {
		panic(err)
	}
	challenge := make([]byte, 32) // use crypto/rand in a real relying party
	copy(challenge, "example challenge, never reused")
	raw, err := presentation.Make(ctx, card, presentation.Request{ChainID: chainID, Challenge: challenge, Audience: "bank-a", Time: time.Now()})
	if err != nil {
		panic(err)
	}
	p, err := presentation.Decode(raw)
	if err != nil {
		panic(err)
	}
	used := presentation.NewMemChallenges()
	opts := presentation.VerifyOptions{ChainID: chainID, Anchors: anchors, Now: time.Now(), Audience: "bank-a", Challenge: challenge,
		ClaimType: "kyc", Challenges: used, Status: nodeStatus{c}}
	res, err := presentation.Verify(ctx, p, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println("yes:", res.Status.State, "attested by", res.Status.Entry.Attester)

	// The same presentation again is a replay.
	_, err = presentation.Verify(ctx, p, opts)
	var pe *presentation.Error
	fmt.Println("again:", errors.As(err, &pe), pe.Reason)
	// Output:
	// yes: valid attested by operator
	// again: true replayed_challenge
}

// Step 4: an attestation that is revoked reads revoked, with the reason,
// to every relying party from the next block on.
func ExampleClient_RevokeAttestation() {
	w := example()
	_, att := w.holder("revoked-holder", "ticket")
	c := w.client()
	ctx := context.Background()
	if _, err := c.RevokeAttestation(ctx, client.RevokeAttestationRequest{ID: att.ID, Reason: "ticket refunded",
		Member: &client.MemberAuth{Key: w.memberKey}}); err != nil {
		panic(err)
	}
	st, err := c.ClaimStatus(ctx, att.Subject, "ticket", true)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.State, st.Revocation.Reason, "by", st.Revocation.By)
	// Output:
	// revoked ticket refunded by operator
}

// nodeStatus is a presentation.StatusSource over a node with verified
// proofs (examples/rpkit has the same).
type nodeStatus struct{ c *client.Client }

func (n nodeStatus) ClaimStatus(ctx context.Context, subject []byte, claimType string) (*presentation.KnownStatus, error) {
	st, err := n.c.ClaimStatus(ctx, subject, claimType, true)
	if err != nil {
		return nil, err
	}
	return &presentation.KnownStatus{Record: st.Record, Height: st.Height, Time: st.Time, Source: "node"}, nil
}

// provenAnchors reads the chain's trust anchors with a proof.
func provenAnchors(ctx context.Context, c *client.Client) ([]*jpki.Anchor, error) {
	p, err := c.VerifiedGet(ctx, chain.AnchorsKey())
	if err != nil {
		return nil, err
	}
	set := new(chainpb.AnchorSet)
	if err := proto.Unmarshal(p.Value, set); err != nil {
		return nil, err
	}
	var out []*jpki.Anchor
	for _, a := range set.Anchors {
		pa, err := jpki.ParseAnchor(a.Certificate)
		if err != nil {
			return nil, err
		}
		out = append(out, pa)
	}
	return out, nil
}

// TestMain stops the examples' node, if one started, and removes its files.
func TestMain(m *testing.M) {
	code := m.Run()
	if exWorld != nil {
		if exWorld.node != nil {
			exWorld.node.Stop()
		}
		os.RemoveAll(exWorld.dir)
	}
	os.Exit(code)
}
