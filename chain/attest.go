package chain

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/idledger/idledger/chain/chainpb"
)

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }

func fmtTime(s int64) string { return unixTime(s).Format(time.RFC3339) }

func (m *Machine) attest(st Store, env Env, tx *Tx, a *chainpb.Attest) (*Result, error) {
	// Cheap rules first, signatures last: a transaction that cannot apply
	// costs no RSA or ed25519 verification.
	params := GetParams(st)
	mem, err := m.signer(st, tx, RoleAttester)
	if err != nil {
		return nil, err
	}
	// The certificate first (its chain is checked once per certificate and
	// cached): an expired card is refused as such, whatever not-after says.
	cert, err := m.subjectCert(st, env, a.AuthCertificate, params.AllowSigningCertificates)
	if err != nil {
		return nil, err
	}
	// Copies: cert is shared through the certificate cache.
	subject := bytes.Clone(cert.Commitment[:])
	anchor := bytes.Clone(cert.AnchorID[:])
	if r := GetSubjectRevocation(st, subject); r != nil {
		return nil, refuse(CodeSubjectRevoked, "subject %x is revoked since %s: %s", subject, fmtTime(r.EffectiveTime), r.Reason)
	}
	switch {
	case a.NotAfter <= env.Time:
		return nil, refuse(CodeNotAfterPassed, "not-after %s is not after the block time %s", fmtTime(a.NotAfter), fmtTime(env.Time))
	case a.NotAfter > cert.NotAfter.Unix():
		return nil, refuse(CodeNotAfterBeyondCert, "not-after %s is beyond the certificate's expiry %s", fmtTime(a.NotAfter), fmtTime(cert.NotAfter.Unix()))
	case params.MaxAttestationLifetime > 0 && a.NotAfter-env.Time > params.MaxAttestationLifetime:
		return nil, refuse(CodeLifetimeTooLong, "not-after %s is more than the maximum lifetime %s after the block time", fmtTime(a.NotAfter), time.Duration(params.MaxAttestationLifetime)*time.Second)
	}
	if err := checkRegistry(st, mem.Id, a.ClaimType, a.NotAfter, env.Time); err != nil {
		return nil, err
	}
	cs := GetClaimStatus(st, subject, a.ClaimType)
	if cs == nil {
		cs = &chainpb.ClaimStatus{Subject: subject, ClaimType: a.ClaimType}
	}
	entries := pruneEntries(cs.Entries, env.Time, int(params.MaxAttestationsPerClaim))
	if max := int(params.MaxAttestationsPerClaim); max > 0 && len(entries) >= max {
		return nil, refuse(CodeClaimFull, "subject already has %d live %q attestations, the maximum", len(entries), a.ClaimType)
	}
	if err := m.authenticate(tx, mem); err != nil {
		return nil, err
	}
	if err := m.subjectSig(tx, cert); err != nil {
		return nil, err
	}

	// Every rule holds: write.
	id := AttestationID(env.Height, env.TxIndex)
	mem.Sequence++
	SetMember(st, mem)
	st.Set(AttestationKey(id), marshal(&chainpb.Attestation{
		Id:        id,
		Subject:   subject,
		ClaimType: a.ClaimType,
		ClaimHash: a.ClaimHash,
		NotAfter:  a.NotAfter,
		Attester:  mem.Id,
		Height:    env.Height,
		Time:      env.Time,
		Anchor:    anchor,
	}))
	cs.Entries = append(entries, &chainpb.StatusEntry{
		AttestationId: id,
		Attester:      mem.Id,
		ClaimHash:     a.ClaimHash,
		NotAfter:      a.NotAfter,
		Height:        env.Height,
	})
	st.Set(ClaimKey(subject, a.ClaimType), marshal(cs))
	return &Result{Events: []Event{{Type: "attest", Attrs: []Attr{
		{"id", hex.EncodeToString(id)},
		{"subject", hex.EncodeToString(subject)},
		{"claim_type", a.ClaimType},
		{"attester", mem.Id},
		{"not_after", strconv.FormatInt(a.NotAfter, 10)},
	}}}}, nil
}

// pruneEntries makes room in a full status record: it drops the oldest
// entries that no longer count (expired or revoked) until there are fewer
// than max. The newest dead entry stays, so that the status still answers
// "expired" or "revoked" rather than "none".
func pruneEntries(entries []*chainpb.StatusEntry, now int64, max int) []*chainpb.StatusEntry {
	if max <= 0 || len(entries) < max {
		return entries
	}
	out := make([]*chainpb.StatusEntry, 0, len(entries))
	drop := len(entries) - max + 1
	for i, e := range entries {
		dead := e.Revocation != nil || e.NotAfter <= now
		if drop > 0 && dead && i < len(entries)-1 {
			drop--
			continue
		}
		out = append(out, e)
	}
	return out
}
