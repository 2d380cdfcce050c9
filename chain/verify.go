package chain

import (
	"bytes"
	"crypto/x509"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

// Verify runs the expensive checks of tx that need no more of the state
// than keys, trust anchors and parameters, against st: the member's ed25519
// signature (when st knows the signer), the subject certificate's JPKI
// checks and the subject's RSA signature. Each verdict is cached, so the
// Deliver that follows (CheckTx, FinalizeBlock) finds it and verifies
// nothing again. Verify writes nothing and is safe to run concurrently with
// anything else on the Machine, on a read-only st (a committed version).
//
// A refusal from Verify is final for transactions judged against st: the
// member key, anchors and parameters it used are what Deliver will use
// unless a governance transaction changes them in between.
func (m *Machine) Verify(st Store, tx *Tx) error {
	return m.NewVerifier(st).Verify(tx, 0)
}

// Verifier runs Verify for many transactions against one read-only state,
// reading its trust anchors and parameters once. It is safe for concurrent
// use.
type Verifier struct {
	m            *Machine
	st           Store
	anchors      *anchorSet
	allowSigning bool
}

// NewVerifier makes a Verifier for st, which must not change while it is in
// use (a committed version).
func (m *Machine) NewVerifier(st Store) *Verifier {
	return &Verifier{m: m, st: st, anchors: m.anchors(st), allowSigning: GetParams(st).AllowSigningCertificates}
}

// AllowSigning reports whether st's parameters admit JPKI signing
// certificates.
func (v *Verifier) AllowSigning() bool { return v.allowSigning }

// Verify is Machine.Verify against the Verifier's state. With at > 0 it
// also refuses a certificate not valid at at (Unix seconds).
func (v *Verifier) Verify(tx *Tx, at int64) error {
	if tx.Body.Signer != "" {
		if mem := GetMember(v.st, tx.Body.Signer); mem != nil {
			if err := v.m.memberSig(tx, mem.Id, mem.PubKey); err != nil {
				return err
			}
		}
	}
	der := SubjectCertificate(tx)
	if der == nil {
		return nil
	}
	cert, err := v.m.checkCertWith(v.anchors, der, v.allowSigning)
	if err != nil {
		return fromJPKI(err)
	}
	if at > 0 {
		if err := cert.ValidAt(unixTime(at)); err != nil {
			return fromJPKI(err)
		}
	}
	return v.m.subjectSig(tx, cert)
}

// SubjectCommitment is the identity commitment of the certificate tx
// carries, when that certificate passes the JPKI checks against v's
// anchors (cached: nothing is parsed or verified again for a transaction
// checked before); false when it carries none or fails them.
func (v *Verifier) SubjectCommitment(tx *Tx) ([32]byte, bool) {
	der := SubjectCertificate(tx)
	if der == nil {
		return [32]byte{}, false
	}
	cert, err := v.m.checkCertWith(v.anchors, der, v.allowSigning)
	if err != nil {
		return [32]byte{}, false
	}
	return cert.Commitment, true
}

// SubjectCertificate returns the JPKI certificate tx carries (an
// attestation's, or a subject's own revocation's), or nil.
func SubjectCertificate(tx *Tx) []byte {
	switch msg := tx.Body.Msg.(type) {
	case *chainpb.TxBody_Attest:
		return msg.Attest.AuthCertificate
	case *chainpb.TxBody_RevokeAttestation:
		if tx.Body.Signer == "" {
			return msg.RevokeAttestation.SubjectCertificate
		}
	}
	return nil
}

// CarriesSigningCertificate reports whether tx carries a certificate that
// is (or cannot be told from) a JPKI signing certificate: one with the
// holder's name, address, birth date and sex. A certificate that does not
// parse counts as one: nobody can show it holds no personal data.
func CarriesSigningCertificate(tx *Tx) bool {
	der := SubjectCertificate(tx)
	if der == nil {
		return false
	}
	c, err := x509.ParseCertificate(der)
	return err != nil || jpki.Classify(c) == jpki.KindSign
}

// IsGovernance reports whether tx is a proposal or a vote: the only
// transactions that can change member keys, trust anchors or parameters.
func IsGovernance(tx *Tx) bool {
	switch tx.Body.Msg.(type) {
	case *chainpb.TxBody_Propose, *chainpb.TxBody_Vote:
		return true
	}
	return false
}

// certCommitment parses a certificate just far enough for its identity
// commitment: no signature is checked. It lets a rule compare subjects
// before paying for the certificate chain.
func certCommitment(der []byte) ([32]byte, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return [32]byte{}, refuse(CodeCertMalformed, "certificate does not parse: %v", err)
	}
	return jpki.Commitment(c.RawIssuer, c.SerialNumber), nil
}

// memberSince reports whether attestation id was made after mem's record
// was added: a member removed and added again (a new key) gets no rights
// over what the earlier record signed.
func memberSince(mem *chainpb.Member, id []byte) bool {
	if mem.AddedHeight == 0 {
		return true // a genesis member
	}
	return bytes.Compare(id, AttestationID(mem.AddedHeight, mem.AddedTxIndex)) > 0
}
