// Package rpkit is the small relying-party kit the examples share: a
// presentation.StatusSource over a node with verified proofs, the chain's
// proven trust anchors, a fresh challenge, and the registry check a relying
// party makes beside the status (is the type registered, and is the
// attester one the registry allows today). Each function is one step of
// client/example_test.go.
package rpkit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/presentation"
	"github.com/idledger/idledger/verifier"
)

// NodeStatus is a presentation.StatusSource over a node: every record is
// proven against a light-client-verified header (client.ClaimStatus with
// verify). Last keeps the last answer, with the claim type's registry
// entry proven under the same app hash.
type NodeStatus struct {
	C    *client.Client
	Last *client.Status
}

var _ presentation.StatusSource = (*NodeStatus)(nil)

// ClaimStatus implements presentation.StatusSource.
func (n *NodeStatus) ClaimStatus(ctx context.Context, subject []byte, claimType string) (*presentation.KnownStatus, error) {
	st, err := n.C.ClaimStatus(ctx, subject, claimType, true)
	if err != nil {
		return nil, err
	}
	n.Last = st
	return &presentation.KnownStatus{Record: st.Record, Height: st.Height, Time: st.Time, Source: "node " + n.C.URL()}, nil
}

// ProvenAnchors reads the chain's JPKI trust anchors with a proof.
func ProvenAnchors(ctx context.Context, c *client.Client) ([]*jpki.Anchor, error) {
	p, err := c.VerifiedGet(ctx, chain.AnchorsKey())
	if err != nil {
		return nil, err
	}
	out, err := chain.DecodeAnchorSet(p.Value)
	if err != nil {
		return nil, fmt.Errorf("rpkit: %w", err)
	}
	return out, nil
}

// StoreClaimType reads a claim type's registry entry from a verifier store
// (nil when the store holds none: the feed carries registry entries only
// once h4's feed includes them).
func StoreClaimType(s *verifier.Store, name string) (*chainpb.ClaimType, error) {
	c, err := s.Get(chain.ClaimTypeKey(name))
	if err != nil || c == nil || len(c.Value) == 0 {
		return nil, err
	}
	ct := new(chainpb.ClaimType)
	if err := proto.Unmarshal(c.Value, ct); err != nil {
		return nil, fmt.Errorf("rpkit: stored claim type %q does not decode: %w", name, err)
	}
	return ct, nil
}

// NewChallenge makes a fresh 32-byte challenge for a holder to sign.
func NewChallenge() ([]byte, error) {
	c := make([]byte, 32)
	if _, err := rand.Read(c); err != nil {
		return nil, fmt.Errorf("rpkit: %w", err)
	}
	return c, nil
}

// ErrAttesterNotTrusted is returned by CheckAttester when the attestation's
// attester is not one the relying party accepts.
var ErrAttesterNotTrusted = errors.New("rpkit: attester not trusted for this claim type")

// CheckAttester applies the registry and the relying party's own policy to
// the attestation a status rests on: the type must be registered and not
// retired, the attester must be one the registry allows today, and, when
// accept is not empty, one of accept.
func CheckAttester(ct *chainpb.ClaimType, entry *chainpb.StatusEntry, accept []string) error {
	switch {
	case entry == nil:
		return fmt.Errorf("%w: no attestation", ErrAttesterNotTrusted)
	case ct == nil:
		return fmt.Errorf("%w: claim type not registered", ErrAttesterNotTrusted)
	case ct.Retired:
		return fmt.Errorf("%w: claim type %q retired at height %d", ErrAttesterNotTrusted, ct.Name, ct.RetiredHeight)
	case !chain.AttesterAllowed(ct, entry.Attester):
		return fmt.Errorf("%w: the registry no longer lists %q for %q", ErrAttesterNotTrusted, entry.Attester, ct.Name)
	case len(accept) > 0 && !slices.Contains(accept, entry.Attester):
		return fmt.Errorf("%w: %q is not among the attesters this relying party accepts (%v)", ErrAttesterNotTrusted, entry.Attester, accept)
	}
	return nil
}

// Staleness says how old an offline answer is: the store's latest verified
// block and its age at now.
func Staleness(a *verifier.Answer) string {
	return fmt.Sprintf("as of block %d (%s, %s old)", a.KnownHeight, a.KnownTime.Format(time.RFC3339), a.Age.Round(time.Second))
}

// Sync brings the verifier store in dir up to the node at rpcURL (the
// node's latest height when Sync starts), then stops: a gate syncs while it
// is online and answers from the store when it is not. A new store needs
// its checkpoint, trustHeight and trustHash.
func Sync(ctx context.Context, dir, rpcURL string, trustHeight int64, trustHash []byte) (int64, error) {
	c, err := client.New(rpcURL)
	if err != nil {
		return 0, err
	}
	st, err := c.RPC().Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("rpkit: node status: %w", err)
	}
	target := st.SyncInfo.LatestBlockHeight
	vctx, cancel := context.WithCancel(ctx)
	defer cancel()
	v, err := verifier.New(vctx, verifier.Options{Dir: dir, RPC: rpcURL, TrustHeight: trustHeight, TrustHash: trustHash, SyncInterval: 200 * time.Millisecond})
	if err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(vctx) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	// The store at height H holds the changes of blocks before H: go one past.
	for v.Height() <= target {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("rpkit: the verifier stopped")
			}
			return 0, err
		case <-ctx.Done():
			cancel()
			<-done
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
	h := v.Height()
	cancel()
	if err := <-done; err != nil {
		return 0, err
	}
	return h, nil
}

// Gate is an offline gate: it answers from a verifier store, never from
// the network, refuses answers older than MaxStaleness and remembers used
// challenges in ChallengeFile (so that a replayed presentation is refused,
// across restarts too).
type Gate struct {
	Store         *verifier.Store
	Audience      string
	ClaimType     string
	MaxStaleness  time.Duration
	ChallengeFile string
	// Accept, when set, lists the only attesters the gate accepts.
	Accept []string
	// Now is the gate's clock (default time.Now).
	Now func() time.Time
}

// OpenGate opens the store in dir for a gate.
func OpenGate(dir string) (*verifier.Store, string, error) {
	s, err := verifier.ReadStore(dir)
	if err != nil {
		return nil, "", err
	}
	head, _, err := s.Head()
	if err != nil {
		return nil, "", err
	}
	return s, head.ChainId, nil
}

// Admit checks a presentation raw made for challenge. A refusal is a
// *presentation.Error; any other error means the gate could not answer.
// The Answer says how stale the store's knowledge is.
func (g *Gate) Admit(ctx context.Context, raw, challenge []byte) (*presentation.Result, *verifier.Answer, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	head, _, err := g.Store.Head()
	if err != nil {
		return nil, nil, err
	}
	anchors, err := g.Store.Anchors()
	if err != nil {
		return nil, nil, err
	}
	p, err := presentation.Decode(raw)
	if err != nil {
		return nil, nil, err
	}
	res, err := presentation.Verify(ctx, p, presentation.VerifyOptions{
		ChainID: head.ChainId, Anchors: anchors, Now: now(), Audience: g.Audience, Challenge: challenge,
		ClaimType: g.ClaimType, Challenges: presentation.FileChallenges{Path: g.ChallengeFile},
		Status: verifier.StatusSource{Store: g.Store, Now: now}, MaxStatusAge: g.MaxStaleness,
	})
	var a *verifier.Answer
	if res != nil {
		a, _ = verifier.Check(g.Store, res.Subject, g.ClaimType, now())
	}
	if err == nil {
		// The registry, when the store holds the type's entry (a feed that
		// carries registry changes); else the gate trusts the attestation
		// as the chain accepted it.
		ct, cerr := StoreClaimType(g.Store, g.ClaimType)
		switch {
		case cerr != nil:
			err = cerr
		case ct != nil:
			err = CheckAttester(ct, res.Status.Entry, g.Accept)
		case len(g.Accept) > 0 && !slices.Contains(g.Accept, res.Status.Entry.Attester):
			err = fmt.Errorf("%w: %q is not among the attesters this relying party accepts (%v)", ErrAttesterNotTrusted, res.Status.Entry.Attester, g.Accept)
		}
	}
	return res, a, err
}
