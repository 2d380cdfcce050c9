package chain

import "github.com/idledger/idledger/chain/chainpb"

// Recheck is the mempool's second look at a transaction it admitted
// earlier, after a block has changed the state: CometBFT rechecks every
// waiting transaction after every block, so under a backlog this runs
// thousands of times a block and must be cheap. For an attestation it
// checks what a block can take away from it and what later admissions
// depend on: the signer is still a member and an attester, with the same
// key (the signature verdict is cached), its sequence is next, the
// not-after has not passed, and the certificate still chains to a trust
// anchor under the signing-certificate policy (cached per anchor set: a
// proposal never takes one that does not); then it moves the sequence on.
// The other rules
// were checked when the transaction was admitted; one that a block has
// broken since (a claim type withdrawn, the subject revoked, a
// full status record) refuses it in FinalizeBlock, with its code, and
// changes nothing. Any other transaction gets the whole of Deliver.
func (m *Machine) Recheck(st Store, env Env, tx *Tx) error {
	msg, ok := tx.Body.Msg.(*chainpb.TxBody_Attest)
	if !ok {
		_, err := m.Deliver(st, env, tx)
		return err
	}
	mem, err := m.signer(st, tx, RoleAttester)
	if err != nil {
		return err
	}
	if msg.Attest.NotAfter <= env.Time {
		return refuse(CodeNotAfterPassed, "not-after %s is not after the block time %s", fmtTime(msg.Attest.NotAfter), fmtTime(env.Time))
	}
	// The certificate still chains to an anchor and meets the signing
	// policy (cached per anchor set): PrepareProposal leaves out one that
	// does not, and every later transaction of the member waits behind it,
	// so kept here it would hold the member's pipeline until its not-after.
	if _, err := m.checkCert(st, msg.Attest.AuthCertificate, GetParams(st).AllowSigningCertificates); err != nil {
		return fromJPKI(err)
	}
	if err := m.authenticate(tx, mem); err != nil {
		return err
	}
	mem.Sequence++
	SetMember(st, mem)
	return nil
}
