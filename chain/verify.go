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
	if tx.Body.Signer != "" {
		if mem := GetMember(st, tx.Body.Signer); mem != nil {
			if err := m.memberSig(tx, mem.Id, mem.PubKey); err != nil {
				return err
			}
		}
	}
	der := SubjectCertificate(tx)
	if der == nil {
		return nil
	}
	cert, err := m.checkCert(st, der, GetParams(st).AllowSigningCertificates)
	if err != nil {
		return fromJPKI(err)
	}
	return m.subjectSig(tx, cert)
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

// CertValidAt reports whether the certificate tx carries (if any) passes
// its JPKI checks against st and is valid at time t (Unix seconds). Its
// verdict comes from the cache when CheckTx checked the certificate.
func (m *Machine) CertValidAt(st Store, tx *Tx, t int64) bool {
	der := SubjectCertificate(tx)
	if der == nil {
		return true
	}
	cert, err := m.checkCert(st, der, GetParams(st).AllowSigningCertificates)
	return err == nil && cert.ValidAt(unixTime(t)) == nil
}
