package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/signer"
)

// A holder's card or phone may ask for its PIN as soon as it is asked for
// anything, its certificate included, and a PIN has three tries. So a
// command the holder signs checks with the node, before the signer is even
// opened, every rule of the chain that does not need the holder: a refusal
// then costs the holder nothing. Offline (--generate-only) there is no node
// to ask; the chain applies the same rules when the file is broadcast.

// openSigner opens the holder's signer that spec names (see signer.Open),
// the last step before the holder is asked for anything; closeSigner
// releases it (a plugin's process).
func openSigner(spec string) (s signer.Signer, closeSigner func(), err error) {
	if s, err = signer.Open(spec); err != nil {
		return nil, nil, err
	}
	closeSigner = func() {}
	if c, ok := s.(io.Closer); ok {
		closeSigner = func() { c.Close() }
	}
	return s, closeSigner, nil
}

// newRefusal is a refusal found before anything was signed or sent: the
// chain's own rule applied to what the node reports, with the code the
// chain would give, as the client reports its own certificate pre-check
// (a *client.TxError of stage client.StageLocal).
func newRefusal(code chain.Code, format string, args ...any) error {
	return &client.TxError{Stage: client.StageLocal, Code: uint32(code), Log: fmt.Sprintf(format, args...)}
}

// precheckChainID returns the chain ID the node serves, refusing a
// --chain-id (want, when given) for another chain.
func precheckChainID(ctx context.Context, c *client.Client, want string) (string, error) {
	id, err := c.ChainID(ctx)
	if err != nil {
		return "", err
	}
	if want != "" && want != id {
		return "", newRefusal(chain.CodeWrongChainID, "signed for chain %q, the node at %s serves %q", want, c.URL(), id)
	}
	return id, nil
}

// attestCheck is what attest knows before the holder is asked for anything.
type attestCheck struct {
	chainID, memberID string
	memberKey         ed25519.PrivateKey
	claimType         string
	notAfter          time.Time // zero: the default, which needs the certificate
}

// precheckAttest applies to an attestation the rules the node can answer
// without the holder: the chain ID, the attesting member (--member, or the
// member registered with the key) and its attester role, and the
// claim-type registry (registered, not retired, the member among its
// attesters, --not-after within its maximum validity). It returns the
// chain ID to sign for.
func precheckAttest(ctx context.Context, c *client.Client, a attestCheck) (string, error) {
	chainID, err := precheckChainID(ctx, c, a.chainID)
	if err != nil {
		return "", err
	}
	var mem *chainpb.Member
	if a.memberID != "" {
		mem, err = c.Member(ctx, a.memberID) // its key is checked as the transaction is built
	} else {
		mem, err = c.MemberByKey(ctx, a.memberKey.Public().(ed25519.PublicKey))
	}
	if err != nil {
		return "", err
	}
	if !chain.HasRole(mem, chain.RoleAttester) { // chain/machine.go's signer rule, checked first there too
		return "", newRefusal(chain.CodeMissingRole, "member %q is not a %s", mem.Id, chain.RoleAttester)
	}
	ct, err := c.ClaimType(ctx, a.claimType, false)
	if errors.Is(err, client.ErrNotFound) {
		ct, err = (*chainpb.ClaimType)(nil), nil
	}
	if err != nil {
		return "", err
	}
	now := time.Now()
	notAfter := now
	if !a.notAfter.IsZero() {
		notAfter = a.notAfter
	}
	// The local clock stands in for the block time, which is not later:
	// the check may pass what the chain refuses, never the other way.
	if err := chain.CheckAttestClaimType(ct, mem.Id, a.claimType, notAfter.Unix(), now.Unix()); err != nil {
		var te *chain.TxError
		if errors.As(err, &te) {
			return "", newRefusal(te.Code, "%s", te.Msg)
		}
		return "", err
	}
	return chainID, nil
}

// precheckRevokeAttestation applies to a holder's revocation the rules the
// node can answer without the holder (chain/revoke.go has them all): the
// chain ID, the attestation exists, and it is not revoked yet. Whether the
// holder's certificate is the attestation's subject needs the certificate.
// It returns the chain ID to sign for.
func precheckRevokeAttestation(ctx context.Context, c *client.Client, chainID string, id []byte) (string, error) {
	chainID, err := precheckChainID(ctx, c, chainID)
	if err != nil {
		return "", err
	}
	a, err := c.Attestation(ctx, id)
	switch {
	case errors.Is(err, client.ErrNotFound):
		return "", newRefusal(chain.CodeUnknownAttestation, "no attestation %x", id)
	case err != nil:
		return "", err
	case a.Revocation != nil:
		return "", newRefusal(chain.CodeAlreadyRevoked, "attestation %x was revoked at height %d", a.Id, a.Revocation.Height)
	}
	return chainID, nil
}
