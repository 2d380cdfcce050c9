package client

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

var (
	// ErrGenerated is returned (wrapped) by every submitting method of a
	// Client made WithGenerateOnly in place of a result: the transaction was
	// built, signed and handed to Offline.Write, and not sent.
	ErrGenerated = errors.New("client: transaction generated, not sent")
	// ErrOffline is returned (wrapped) by a Client made WithGenerateOnly
	// when it would have to ask the node for something.
	ErrOffline = errors.New("generating offline: the node is not contacted")
)

// Offline is what a generate-only client takes from its caller instead of
// asking the node.
type Offline struct {
	// ChainID is the chain to sign for (required).
	ChainID string
	// Member and Sequence are the signing member's ID and its next sequence
	// number (query member ID shows it; it is the number of transactions
	// the member has had committed). Needed for member-signed transactions
	// only.
	Member   string
	Sequence uint64
	// Write receives the signed transaction, the exact bytes a broadcast
	// sends (Client.Submit and idledger broadcast).
	Write func(tx []byte) error
}

// WithGenerateOnly makes a client that builds and signs transactions as
// usual but never contacts the node: the chain ID, member and sequence come
// from o, each signed transaction goes to o.Write, and the submitting method
// returns ErrGenerated. Holders and members can so sign on machines without
// a network; Submit, on any client, sends the bytes later.
func WithGenerateOnly(o Offline) Option {
	return func(opts *options) { opts.offline = &o }
}

// Generating reports whether c is a generate-only client.
func (c *Client) Generating() bool { return c.opts.offline != nil }

func (c *Client) offlineErr(what string) error {
	return fmt.Errorf("client: %s: %w", what, ErrOffline)
}

// offlineChainID is the chain ID of a generate-only client.
func (c *Client) offlineChainID() (string, error) {
	if c.opts.offline.ChainID == "" {
		return "", fmt.Errorf("client: no chain ID given (%w)", ErrOffline)
	}
	return c.opts.offline.ChainID, nil
}

// offlineMember is the signing member of a generate-only client.
func (c *Client) offlineMember(auth MemberAuth) (*chainpb.Member, error) {
	o := c.opts.offline
	id := o.Member
	if auth.ID != "" {
		if id != "" && id != auth.ID {
			return nil, fmt.Errorf("client: member %q and %q given", auth.ID, id)
		}
		id = auth.ID
	}
	if id == "" {
		return nil, fmt.Errorf("client: no member ID given; the node cannot be asked which member the key belongs to (%w)", ErrOffline)
	}
	if !chain.ValidMemberID(id) {
		return nil, fmt.Errorf("client: %q is not a member ID", id)
	}
	return &chainpb.Member{Id: id, Sequence: o.Sequence}, nil
}

// generate hands tx to the offline writer.
func (c *Client) generate(tx []byte) error {
	if len(tx) > chain.MaxTxSize {
		return fmt.Errorf("client: the transaction is %d bytes, over the chain's limit of %d", len(tx), chain.MaxTxSize)
	}
	if c.opts.offline.Write == nil {
		return errors.New("client: generate-only client without a writer")
	}
	if err := c.opts.offline.Write(tx); err != nil {
		return fmt.Errorf("client: writing the transaction: %w", err)
	}
	return ErrGenerated
}

// checkForm runs the chain's stateless checks (size, encoding, chain ID,
// field syntax, signatures present) on body as it will be sent, with
// placeholder signatures, so that a transaction the chain would refuse on
// its form is refused here, before the holder's card or phone is asked for
// a PIN. subjectSigLen is the length of the JPKI signature to come (0:
// none).
func checkForm(body []byte, chainID string, memberSigned bool, subjectSigLen int) error {
	env := &chainpb.Tx{Body: body}
	if memberSigned {
		env.MemberSignature = make([]byte, 64)
	}
	if subjectSigLen > 0 {
		env.SubjectSignature = make([]byte, subjectSigLen)
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return err
	}
	if _, err := chain.DecodeTx(raw, chainID); err != nil {
		return fmt.Errorf("client: the chain would refuse this transaction: %w (code %d)", err, chain.CodeOf(err))
	}
	return nil
}

// rsaSigLen is the length of a signature by cert's RSA key (256 for
// RSA-2048); other keys get a nominal 256, the chain refuses them anyway.
func rsaSigLen(cert *x509.Certificate) int {
	if k, ok := cert.PublicKey.(*rsa.PublicKey); ok {
		return k.Size()
	}
	return 256
}

// checkBody is checkForm on a body not yet encoded (with placeholders for
// what the holder's signer has not handed out yet).
func checkBody(chainID string, memberSigned bool, subjectSigLen int, body *chainpb.TxBody) error {
	raw, err := chain.EncodeBody(body)
	if err != nil {
		return err
	}
	return checkForm(raw, chainID, memberSigned, subjectSigLen)
}

// StageLocal is the TxError stage of a transaction refused here, before the
// holder was asked to sign it, by the chain's own certificate rules applied
// to the node's trust anchors and parameters: nothing was sent.
const StageLocal = "local"

// precheckCert runs the chain's certificate checks on the holder's
// certificate before the holder is asked for a signature (and so for a
// PIN): the profile, the key, the chain to one of the node's trust anchors
// and the validity window at the client's clock. Offline, with no anchors
// to check against, only the validity window is checked.
func (c *Client) precheckCert(ctx context.Context, der []byte, cert *x509.Certificate) error {
	now := c.opts.now()
	if c.Generating() {
		switch {
		case now.After(cert.NotAfter):
			return &TxError{Stage: StageLocal, Code: uint32(chain.CodeCertExpired), Log: "jpki: certificate expired at " + cert.NotAfter.UTC().Format(time.RFC3339)}
		case now.Before(cert.NotBefore):
			return &TxError{Stage: StageLocal, Code: uint32(chain.CodeCertNotYetValid), Log: "jpki: certificate not valid before " + cert.NotBefore.UTC().Format(time.RFC3339)}
		}
		return nil
	}
	anchors, err := c.Anchors(ctx)
	if err != nil {
		return err
	}
	params, err := c.Params(ctx)
	if err != nil {
		return err
	}
	jc, err := jpki.Check(der, jpki.CheckOptions{Anchors: anchors, AllowSigning: params.AllowSigningCertificates})
	if err == nil {
		err = jc.ValidAt(now)
	}
	if err != nil {
		return &TxError{Stage: StageLocal, Code: uint32(chain.CodeOf(err)), Log: err.Error()}
	}
	return nil
}
