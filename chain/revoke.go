package chain

import (
	"bytes"
	"encoding/hex"
	"strconv"

	"github.com/idledger/idledger/chain/chainpb"
)

// BySubject is the Revocation.by of a revocation the subject signed.
const BySubject = "subject"

// revokeAttestation revokes one attestation, signed by its attester, by any
// revoker, or by the subject (a JPKI signature from a certificate with the
// attestation's identity commitment).
func (m *Machine) revokeAttestation(st Store, env Env, tx *Tx, r *chainpb.RevokeAttestation) (*Result, error) {
	var mem *chainpb.Member
	by := BySubject
	if tx.Body.Signer != "" {
		var err error
		if mem, err = m.member(st, tx); err != nil {
			return nil, err
		}
		by = mem.Id
	}
	a := GetAttestation(st, r.AttestationId)
	if a == nil {
		return nil, refuse(CodeUnknownAttestation, "no attestation %x", r.AttestationId)
	}
	// Cheap rules first, signatures and the certificate chain last: a
	// revocation that cannot apply costs no RSA or ed25519 verification.
	if mem != nil {
		own := mem.Id == a.Attester && HasRole(mem, RoleAttester) && memberSince(mem, a.Id)
		if !own && !HasRole(mem, RoleRevoker) {
			return nil, refuse(CodeNotAuthorized, "member %q may not revoke attestation %x: it is neither its attester nor a revoker", mem.Id, a.Id)
		}
	} else {
		s, err := certCommitment(r.SubjectCertificate)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(s[:], a.Subject) {
			return nil, refuse(CodeNotAuthorized, "the certificate's subject is not the subject of attestation %x", a.Id)
		}
	}
	if a.Revocation != nil {
		return nil, refuse(CodeAlreadyRevoked, "attestation %x was revoked at height %d", a.Id, a.Revocation.Height)
	}
	if mem != nil {
		if err := m.authenticate(tx, mem); err != nil {
			return nil, err
		}
	} else {
		cert, err := m.subjectCert(st, env, r.SubjectCertificate, GetParams(st).AllowSigningCertificates)
		if err != nil {
			return nil, err
		}
		if err := m.subjectSig(tx, cert); err != nil {
			return nil, err
		}
	}

	rev := &chainpb.Revocation{Reason: r.Reason, Height: env.Height, Time: env.Time, By: by}
	if mem != nil {
		mem.Sequence++
		SetMember(st, mem)
	}
	a.Revocation = rev
	st.Set(AttestationKey(a.Id), marshal(a))
	if cs := GetClaimStatus(st, a.Subject, a.ClaimType); cs != nil {
		for _, e := range cs.Entries {
			if bytes.Equal(e.AttestationId, a.Id) {
				e.Revocation = rev
			}
		}
		st.Set(ClaimKey(a.Subject, a.ClaimType), marshal(cs))
	}
	return &Result{Events: []Event{{Type: "revoke_attestation", Attrs: []Attr{
		{"id", hex.EncodeToString(a.Id)},
		{"subject", hex.EncodeToString(a.Subject)},
		{"claim_type", a.ClaimType},
		{"by", by},
	}}}}, nil
}

// revokeSubjects records revoked identity commitments. Commitments already
// revoked are skipped, so a revoker that resubmits after an interruption
// does no harm.
func (m *Machine) revokeSubjects(st Store, env Env, tx *Tx, r *chainpb.RevokeSubjects) (*Result, error) {
	mem, err := m.signer(st, tx, RoleRevoker)
	if err != nil {
		return nil, err
	}
	params := GetParams(st)
	if n := len(r.Commitments); n > int(params.MaxRevocationsPerTx) {
		return nil, refuse(CodeTooManySubjects, "%d commitments in one transaction, the maximum is %d", n, params.MaxRevocationsPerTx)
	}
	if r.EffectiveTime > env.Time {
		return nil, refuse(CodeInvalidField, "effective time %s is after the block time %s", fmtTime(r.EffectiveTime), fmtTime(env.Time))
	}
	seen := make(map[string]bool, len(r.Commitments))
	for _, c := range r.Commitments {
		if seen[string(c)] {
			return nil, refuse(CodeInvalidField, "commitment %x appears twice", c)
		}
		seen[string(c)] = true
	}
	if err := m.authenticate(tx, mem); err != nil {
		return nil, err
	}

	mem.Sequence++
	SetMember(st, mem)
	res := &Result{}
	revoked := 0
	for _, s := range r.Commitments {
		if GetSubjectRevocation(st, s) != nil {
			continue
		}
		revoked++
		st.Set(SubjectRevocationKey(s), marshal(&chainpb.SubjectRevocation{
			Subject: s, Reason: r.Reason, EffectiveTime: r.EffectiveTime, By: mem.Id, Height: env.Height,
		}))
		rev := &chainpb.Revocation{Reason: r.Reason, Height: env.Height, Time: r.EffectiveTime, By: mem.Id}
		for _, cs := range SubjectClaims(st, s) {
			cs.SubjectRevocation = rev
			st.Set(ClaimKey(s, cs.ClaimType), marshal(cs))
			res.Events = append(res.Events, Event{Type: "revoke_subject_claim", Attrs: []Attr{
				{"subject", hex.EncodeToString(s)},
				{"claim_type", cs.ClaimType},
			}})
		}
	}
	res.Events = append(res.Events, Event{Type: "revoke_subjects", Attrs: []Attr{
		{"revoked", strconv.Itoa(revoked)},
		{"already_revoked", strconv.Itoa(len(r.Commitments) - revoked)},
		{"by", mem.Id},
	}})
	return res, nil
}
