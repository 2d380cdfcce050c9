package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/jpki"
)

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
