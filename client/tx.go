package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/signer"
)

// MemberAuth says which member signs a transaction.
type MemberAuth struct {
	// ID is the member; "" means the member whose registered key is Key.
	ID  string
	Key ed25519.PrivateKey
	// ChainID to sign for; "" means the node's.
	ChainID string
}

// MemberTxResult is a committed member-signed transaction that applied.
type MemberTxResult struct {
	TxResult
	// Member and Sequence are the signer and the sequence number it used.
	Member   string
	Sequence uint64
}

// sequenceRetries bounds how often SubmitMemberTx rebuilds a transaction
// whose sequence number the node's mempool has already seen used (an earlier
// transaction of the member still waiting for its block).
const sequenceRetries = 5

// resolveMember finds the member a MemberAuth names and checks that its
// registered key is the one given.
func (c *Client) resolveMember(ctx context.Context, auth MemberAuth) (*chainpb.Member, error) {
	if len(auth.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("client: no member key")
	}
	if c.Generating() {
		return c.offlineMember(auth)
	}
	pub := auth.Key.Public().(ed25519.PublicKey)
	if auth.ID == "" {
		return c.MemberByKey(ctx, pub)
	}
	mem, err := c.Member(ctx, auth.ID)
	if err != nil {
		return nil, err
	}
	if !pub.Equal(ed25519.PublicKey(mem.PubKey)) {
		return nil, fmt.Errorf("client: the member key is not member %q's registered key", mem.Id)
	}
	return mem, nil
}

func (c *Client) chainIDOr(ctx context.Context, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	return c.ChainID(ctx)
}

// SubmitMemberTx signs a transaction as a member and submits it: it reads
// the member's next sequence number from the node, fills in body's chain ID,
// signer and sequence (body's message must be set), signs the encoded body
// with the member key, submits it and waits for its commit. A refusal, in
// CheckTx or in the block, is a *TxError. When the node's mempool already
// holds an earlier transaction of the member (the committed sequence is
// behind), it waits for a block and tries again with the next number.
func (c *Client) SubmitMemberTx(ctx context.Context, auth MemberAuth, body *chainpb.TxBody) (*MemberTxResult, error) {
	if body == nil || body.Msg == nil {
		return nil, errors.New("client: a transaction needs a message")
	}
	chainID, err := c.chainIDOr(ctx, auth.ChainID)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		mem, err := c.resolveMember(ctx, auth)
		if err != nil {
			return nil, err
		}
		body.ChainId, body.Signer, body.Sequence = chainID, mem.Id, mem.Sequence
		raw, err := chain.EncodeBody(body)
		if err != nil {
			return nil, err
		}
		tx, err := chain.EncodeTx(raw, auth.Key, nil)
		if err != nil {
			return nil, err
		}
		res, err := c.Submit(ctx, tx)
		var te *TxError
		if errors.As(err, &te) && te.Stage == "check" && te.Code == uint32(chain.CodeBadSequence) && attempt < sequenceRetries {
			if err := c.nextBlock(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := res.Err(); err != nil {
			return nil, err
		}
		return &MemberTxResult{TxResult: *res, Member: mem.Id, Sequence: mem.Sequence}, nil
	}
}

// nextBlock waits until the node commits a block after its current one.
func (c *Client) nextBlock(ctx context.Context) error {
	if c.Generating() {
		return c.offlineErr("waiting for a block")
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return c.rpcErr("status", err)
	}
	return c.waitHeight(ctx, st.SyncInfo.LatestBlockHeight+1)
}

// RevokeAttestationRequest revokes one attestation. Exactly one of Member
// and Subject signs: the attestation's attester or any revoker (a member),
// or the subject with its JPKI key (a certificate with the attestation's
// identity commitment).
type RevokeAttestationRequest struct {
	ID     []byte
	Reason string
	Member *MemberAuth
	// Subject is the holder's JPKI key (a software key or a card plugin).
	Subject signer.Signer
	// ChainID to sign for when Subject signs; "" means the node's.
	ChainID string
}

// RevokeResult is a committed revocation.
type RevokeResult struct {
	ID     []byte
	Height int64
	TxHash []byte
	// By is the revoking member, or chain.BySubject.
	By       string
	Sequence uint64 // the member's sequence number (member revocations)
}

// RevokeAttestation revokes one attestation and waits for the commit.
// Refusals are *TxError (an unknown attestation is code 50, one already
// revoked 51, a signer with no right to revoke it 52).
func (c *Client) RevokeAttestation(ctx context.Context, req RevokeAttestationRequest) (*RevokeResult, error) {
	if len(req.ID) != chain.AttestationIDLen {
		return nil, fmt.Errorf("client: revoke: an attestation ID is %d bytes, got %d", chain.AttestationIDLen, len(req.ID))
	}
	if (req.Member == nil) == (req.Subject == nil) {
		return nil, errors.New("client: revoke: give a member key or the subject's signer, not both")
	}
	if len(req.Reason) > chain.MaxReasonLen {
		return nil, fmt.Errorf("client: revoke: the reason is over %d bytes", chain.MaxReasonLen)
	}
	msg := &chainpb.RevokeAttestation{AttestationId: req.ID, Reason: req.Reason}
	if req.Member != nil {
		r, err := c.SubmitMemberTx(ctx, *req.Member, &chainpb.TxBody{Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: msg}})
		if err != nil {
			return nil, err
		}
		return &RevokeResult{ID: req.ID, Height: r.Height, TxHash: r.Hash, By: r.Member, Sequence: r.Sequence}, nil
	}

	chainID, err := c.chainIDOr(ctx, req.ChainID)
	if err != nil {
		return nil, err
	}
	pre := &chainpb.RevokeAttestation{AttestationId: req.ID, Reason: req.Reason, SubjectCertificate: []byte{0}}
	if err := checkBody(chainID, false, 256, &chainpb.TxBody{ChainId: chainID, Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: pre}}); err != nil {
		return nil, err
	}
	cert, err := req.Subject.Certificate(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: subject certificate: %w", err)
	}
	msg.SubjectCertificate = cert
	body, err := chain.EncodeBody(&chainpb.TxBody{ChainId: chainID, Msg: &chainpb.TxBody_RevokeAttestation{RevokeAttestation: msg}})
	if err != nil {
		return nil, err
	}
	if err := checkForm(body, chainID, false, 512); err != nil {
		return nil, err
	}
	sig, err := signer.Sign(ctx, req.Subject, chain.SignBytes(body))
	if err != nil {
		return nil, fmt.Errorf("client: subject signature: %w", err)
	}
	tx, err := chain.EncodeTx(body, nil, sig)
	if err != nil {
		return nil, err
	}
	res, err := c.Submit(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return &RevokeResult{ID: req.ID, Height: res.Height, TxHash: res.Hash, By: chain.BySubject}, nil
}

// SubjectOf returns the identity commitment of a DER certificate.
func SubjectOf(certDER []byte) ([]byte, error) {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("client: certificate: %w", err)
	}
	s := jpki.Commitment(cert.RawIssuer, cert.SerialNumber)
	return s[:], nil
}

// RevokeSubjectsResult is one committed RevokeSubjects transaction.
type RevokeSubjectsResult struct {
	MemberTxResult
	// Revoked counts the commitments this transaction revoked;
	// AlreadyRevoked those the chain had revoked before (and skipped).
	Revoked, AlreadyRevoked int
}

// RevokeSubjects submits one RevokeSubjects transaction: commitments (at
// most the chain's max_revocations_per_tx, none twice), a reason, and the
// time the revocations took effect (not after the block time). See
// RevokeSubjectsBatched for any number of commitments.
func (c *Client) RevokeSubjects(ctx context.Context, auth MemberAuth, commitments [][]byte, reason string, effective int64) (*RevokeSubjectsResult, error) {
	r, err := c.SubmitMemberTx(ctx, auth, &chainpb.TxBody{Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{
		Commitments: commitments, Reason: reason, EffectiveTime: effective,
	}}})
	if err != nil {
		return nil, err
	}
	out := &RevokeSubjectsResult{MemberTxResult: *r}
	out.Revoked, _ = strconv.Atoi(eventAttr(r.Events, "revoke_subjects", "revoked"))
	out.AlreadyRevoked, _ = strconv.Atoi(eventAttr(r.Events, "revoke_subjects", "already_revoked"))
	return out, nil
}

// ProposalResult is a committed proposal or vote and the proposal's state
// after it.
type ProposalResult struct {
	MemberTxResult
	Proposal *chainpb.Proposal
	// Threshold is the governor threshold the votes count against.
	Threshold uint32
}

// Propose proposes a governance action (the proposer's vote counts) and
// returns the proposal as it stands after the block: open, or executed (or
// failed) when the proposer's vote alone reached the threshold.
func (c *Client) Propose(ctx context.Context, auth MemberAuth, action *chainpb.GovAction) (*ProposalResult, error) {
	if err := chain.CheckAction(action); err != nil {
		return nil, fmt.Errorf("client: propose: %w", err)
	}
	r, err := c.SubmitMemberTx(ctx, auth, &chainpb.TxBody{Msg: &chainpb.TxBody_Propose{Propose: &chainpb.Propose{Action: action}}})
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseUint(eventAttr(r.Events, "propose", "proposal_id"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("client: transaction %X committed at height %d without a proposal ID in its events", r.Hash, r.Height)
	}
	return c.proposalAfter(ctx, r, id)
}

// Vote votes yes on proposal id and returns the proposal as it stands after
// the block.
func (c *Client) Vote(ctx context.Context, auth MemberAuth, id uint64) (*ProposalResult, error) {
	r, err := c.SubmitMemberTx(ctx, auth, &chainpb.TxBody{Msg: &chainpb.TxBody_Vote{Vote: &chainpb.Vote{ProposalId: id}}})
	if err != nil {
		return nil, err
	}
	return c.proposalAfter(ctx, r, id)
}

func (c *Client) proposalAfter(ctx context.Context, r *MemberTxResult, id uint64) (*ProposalResult, error) {
	// The node's latest state is at least the transaction's block.
	p, err := c.Proposal(ctx, id)
	if err != nil {
		return nil, err
	}
	params, err := c.Params(ctx)
	if err != nil {
		return nil, err
	}
	return &ProposalResult{MemberTxResult: *r, Proposal: p, Threshold: params.GovernorThreshold}, nil
}

// Proposal reads a governance proposal. An unknown ID is an error wrapping
// ErrNotFound.
func (c *Client) Proposal(ctx context.Context, id uint64) (*chainpb.Proposal, error) {
	v, _, err := c.Get(ctx, chain.ProposalKey(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("client: proposal %d: %w", id, ErrNotFound)
	}
	return decode[chainpb.Proposal]("proposal", v)
}

// Proposals lists every proposal, oldest first.
func (c *Client) Proposals(ctx context.Context) ([]*chainpb.Proposal, error) {
	kvs, _, err := c.Range(ctx, chain.ProposalsPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*chainpb.Proposal, 0, len(kvs))
	for _, kv := range kvs {
		if len(kv.Key) != 9 {
			continue
		}
		p, err := decode[chainpb.Proposal]("proposal", kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Validators lists the validators the app knows (member, consensus key,
// power), in key order.
func (c *Client) Validators(ctx context.Context) ([]*chainpb.Validator, error) {
	kvs, _, err := c.Range(ctx, chain.ValidatorsPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*chainpb.Validator, 0, len(kvs))
	for _, kv := range kvs {
		v, err := decode[chainpb.Validator]("validator", kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// RevocationState is the progress file of a batched subject revocation:
// which batches of which list of commitments are committed. It holds no
// commitment and nothing of a CRL, only a digest of the sorted list.
type RevocationState struct {
	Version int `json:"version"`
	// Input is the SHA-256 (hex) of the sorted, distinct commitments the
	// batches were cut from: the state belongs to that list only.
	Input     string        `json:"input"`
	Subjects  int           `json:"subjects"`
	BatchSize int           `json:"batch_size"`
	Batches   int           `json:"batches"`
	Committed []BatchRecord `json:"committed"`
}

// BatchRecord is one committed batch.
type BatchRecord struct {
	Batch          int    `json:"batch"` // from 1
	Height         int64  `json:"height"`
	TxHash         string `json:"tx_hash"`
	Revoked        int    `json:"revoked"`
	AlreadyRevoked int    `json:"already_revoked"`
}

func (s *RevocationState) done(batch int) bool {
	return slices.ContainsFunc(s.Committed, func(r BatchRecord) bool { return r.Batch == batch })
}

// revocationStateVersion is the RevocationState format.
const revocationStateVersion = 1

// BatchedRevocation revokes any number of subjects in as many RevokeSubjects
// transactions as the chain's max_revocations_per_tx needs.
type BatchedRevocation struct {
	Auth MemberAuth
	// Subjects are the identity commitments to revoke and when each was
	// revoked (jpki.CRLCommitments makes them from a CRL; RevokedAt may be
	// zero). Duplicates are merged.
	Subjects []jpki.RevokedSubject
	Reason   string
	// Effective is the effective time of every batch. Zero: the node's
	// latest block time, the time of the report. It is never taken from a
	// CRL's revocation dates: J-LIS revocation data stays with the revoker
	// that received it.
	Effective time.Time
	// BatchSize is at most the chain's max_revocations_per_tx, which is the
	// default.
	BatchSize int
	// StateFile, when set, records each committed batch, so that a run
	// that was interrupted resumes where it stopped: batches recorded there
	// are not submitted again. (A batch committed just before an
	// interruption and not yet recorded is submitted again; the chain skips
	// commitments it has already revoked.)
	StateFile string
	// Progress, when set, is called after each batch, committed or skipped.
	Progress func(BatchProgress)
}

// BatchProgress reports one batch of a batched revocation.
type BatchProgress struct {
	Batch, Batches int // Batch counts from 1
	Commitments    int
	// Skipped: the state file says the batch was committed by an earlier run.
	Skipped bool
	Record  BatchRecord
}

// BatchedResult sums up a batched revocation.
type BatchedResult struct {
	Subjects  int `json:"subjects"`
	BatchSize int `json:"batch_size"`
	Batches   int `json:"batches"`
	// Skipped batches were committed by an earlier run (state file);
	// Submitted ones by this run.
	Skipped   int `json:"skipped"`
	Submitted int `json:"submitted"`
	// Revoked and AlreadyRevoked sum up this run's transactions.
	Revoked        int    `json:"revoked"`
	AlreadyRevoked int    `json:"already_revoked"`
	StateFile      string `json:"state_file,omitempty"`
	// StartedOver: the state file was for another list or batch size and
	// was replaced.
	StartedOver bool `json:"started_over,omitempty"`
}

// RevokeSubjectsBatched revokes req.Subjects: sorted by commitment and cut
// into batches, each submitted and committed before the next, resuming from
// req.StateFile. Only commitments, a reason and effective times reach the
// chain. On error the state file holds every batch committed so far.
func (c *Client) RevokeSubjectsBatched(ctx context.Context, req BatchedRevocation) (*BatchedResult, error) {
	subjects := mergeSubjects(req.Subjects)
	if len(subjects) == 0 {
		return nil, errors.New("client: no subjects to revoke")
	}
	params, err := c.Params(ctx)
	if err != nil {
		return nil, err
	}
	limit := int(params.MaxRevocationsPerTx)
	size := req.BatchSize
	switch {
	case size < 0:
		return nil, fmt.Errorf("client: batch size %d", size)
	case size == 0:
		size = limit
	case size > limit:
		return nil, fmt.Errorf("client: batch size %d is over the chain's max_revocations_per_tx %d", size, limit)
	}
	h := sha256.New()
	for _, s := range subjects {
		h.Write(s.Commitment[:])
	}
	input := hex.EncodeToString(h.Sum(nil))

	res := &BatchedResult{Subjects: len(subjects), StateFile: req.StateFile}
	var st *RevocationState
	if req.StateFile != "" {
		old, err := ReadRevocationState(req.StateFile)
		if err != nil {
			return nil, err
		}
		switch {
		case old == nil:
		case old.Input == input && old.BatchSize <= limit && old.Subjects == len(subjects):
			// Resume with the batches the earlier run cut.
			st, size = old, old.BatchSize
		default:
			res.StartedOver = true
		}
	}
	batches := (len(subjects) + size - 1) / size
	if st == nil {
		st = &RevocationState{Version: revocationStateVersion, Input: input, Subjects: len(subjects), BatchSize: size, Batches: batches}
	}
	res.BatchSize, res.Batches = size, batches

	for b := 1; b <= batches; b++ {
		part := subjects[(b-1)*size : min(b*size, len(subjects))]
		if st.done(b) {
			res.Skipped++
			if req.Progress != nil {
				i := slices.IndexFunc(st.Committed, func(r BatchRecord) bool { return r.Batch == b })
				req.Progress(BatchProgress{Batch: b, Batches: batches, Commitments: len(part), Skipped: true, Record: st.Committed[i]})
			}
			continue
		}
		effective, err := c.effectiveTime(ctx, req.Effective)
		if err != nil {
			return res, err
		}
		commitments := make([][]byte, len(part))
		for i := range part {
			commitments[i] = part[i].Commitment[:]
		}
		r, err := c.RevokeSubjects(ctx, req.Auth, commitments, req.Reason, effective)
		if err != nil {
			return res, fmt.Errorf("client: batch %d of %d: %w", b, batches, err)
		}
		rec := BatchRecord{Batch: b, Height: r.Height, TxHash: fmt.Sprintf("%X", r.Hash), Revoked: r.Revoked, AlreadyRevoked: r.AlreadyRevoked}
		st.Committed = append(st.Committed, rec)
		res.Submitted++
		res.Revoked += r.Revoked
		res.AlreadyRevoked += r.AlreadyRevoked
		if req.StateFile != "" {
			if err := WriteRevocationState(req.StateFile, st); err != nil {
				return res, fmt.Errorf("client: batch %d of %d committed at height %d, but %w", b, batches, r.Height, err)
			}
		}
		if req.Progress != nil {
			req.Progress(BatchProgress{Batch: b, Batches: batches, Commitments: len(part), Record: rec})
		}
	}
	return res, nil
}

// mergeSubjects sorts subjects by commitment and merges duplicates,
// keeping the latest revocation time.
func mergeSubjects(in []jpki.RevokedSubject) []jpki.RevokedSubject {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b jpki.RevokedSubject) int {
		if c := bytes.Compare(a.Commitment[:], b.Commitment[:]); c != 0 {
			return c
		}
		return b.RevokedAt.Compare(a.RevokedAt) // latest first, kept below
	})
	return slices.CompactFunc(out, func(a, b jpki.RevokedSubject) bool { return a.Commitment == b.Commitment })
}

// effectiveTime picks a batch's effective time (see
// BatchedRevocation.Effective).
func (c *Client) effectiveTime(ctx context.Context, fixed time.Time) (int64, error) {
	if !fixed.IsZero() {
		return fixed.Unix(), nil
	}
	if c.Generating() {
		return 0, fmt.Errorf("client: no effective time given; the node's latest block time cannot be read (%w)", ErrOffline)
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return 0, c.rpcErr("status", err)
	}
	return st.SyncInfo.LatestBlockTime.Unix(), nil
}

// ReadRevocationState reads a progress file; a missing file is (nil, nil).
func ReadRevocationState(path string) (*RevocationState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("client: revocation state: %w", err)
	}
	st := new(RevocationState)
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("client: revocation state %s does not decode: %w", path, err)
	}
	if st.Version != revocationStateVersion {
		return nil, fmt.Errorf("client: revocation state %s: version %d, want %d", path, st.Version, revocationStateVersion)
	}
	if st.BatchSize <= 0 {
		return nil, fmt.Errorf("client: revocation state %s: batch size %d", path, st.BatchSize)
	}
	slices.SortFunc(st.Committed, func(a, b BatchRecord) int { return cmp.Compare(a.Batch, b.Batch) })
	return st, nil
}

// WriteRevocationState replaces the progress file at path atomically (a
// temporary file renamed over it), mode 0600.
func WriteRevocationState(path string, st *RevocationState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("recording progress: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("recording progress: %w", err)
	}
	return nil
}
