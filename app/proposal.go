package app

import (
	"context"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/chain"
)

// proposalCheck judges a block's transactions in block order, with the
// rules every honest node applies to a proposal: nothing is verified
// twice (the machine caches each verdict by transaction hash) and nothing
// depends on sequence numbers or records, which FinalizeBlock judges with
// codes. PrepareProposal builds only blocks that pass it, so an honest
// proposal is never refused.
type proposalCheck struct {
	v    *chain.Verifier // nil before the first block
	at   int64           // with at > 0, certificates must be valid at this time (PrepareProposal)
	seen map[[32]byte]bool
	// governance is set once the block holds a proposal or a vote: after it
	// member keys, trust anchors and parameters may differ from base's, so
	// later transactions get only the checks that do not depend on them.
	governance bool
}

func newProposalCheck(m *chain.Machine, base chain.Store, at int64) *proposalCheck {
	pc := &proposalCheck{at: at, seen: map[[32]byte]bool{}}
	if base != nil {
		pc.v = m.NewVerifier(base)
	}
	return pc
}

// admit judges the next transaction of the block: it refuses one that
// appears twice, carries what data policy keeps off the chain (a JPKI
// signing certificate unless the parameters allow them; DecodeTx already
// refused My Numbers, unknown fields and oversize), or fails a signature or
// certificate check against base.
func (pc *proposalCheck) admit(tx *chain.Tx) error {
	if pc.seen[tx.Hash] {
		return fmt.Errorf("transaction %X appears twice", tx.Hash[:8])
	}
	if pc.v != nil && !pc.governance {
		// The certificate check refuses signing certificates unless the
		// parameters allow them.
		if err := pc.v.Verify(tx, pc.at); err != nil {
			return fmt.Errorf("transaction %X: %w", tx.Hash[:8], err)
		}
	} else if (pc.v == nil || !pc.v.AllowSigning()) && chain.CarriesSigningCertificate(tx) {
		return fmt.Errorf("transaction %X carries a JPKI signing certificate (personal data), which the parameters keep off the chain", tx.Hash[:8])
	}
	pc.seen[tx.Hash] = true
	if chain.IsGovernance(tx) {
		pc.governance = true
	}
	return nil
}

// snapshot returns the committed state and chain ID, taken under the lock;
// the committed tree is immutable, so it can be read without it.
func (a *App) snapshot() (chain.Store, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.committed == nil {
		return nil, a.chainID
	}
	return readStore{a.committed}, a.chainID
}

// ProcessProposal refuses a block from a faulty or hostile proposer: one
// holding a transaction that does not decode (which covers oversize, unknown
// fields, another chain and My Numbers in clear-text fields), appears twice,
// carries a JPKI signing certificate when the parameters forbid them, or
// fails its member signature, certificate chain or subject signature. Such
// bytes would otherwise stay in every node's block store for good. What
// depends on the state's records (a sequence number, a revoked subject, a
// full claim) is left to FinalizeBlock, which refuses it with its code on
// every node alike.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	base, chainID := a.snapshot()
	if base != nil && chain.ChainID(base) == "" {
		base = nil
	}
	txs, errs := a.verifyAll(base, chainID, req.Txs)
	pc := newProposalCheck(a.machine, base, 0)
	for i := range req.Txs {
		err := errs[i]
		if err == nil {
			err = pc.admit(txs[i])
		}
		if err != nil {
			a.log.Info("refusing a proposal", "height", req.Height, "proposer", fmt.Sprintf("%X", req.ProposerAddress), "tx", i, "reason", err.Error())
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// PrepareProposal builds the block from the mempool's transactions, cheaply:
// no state is replayed and nothing is verified again (CheckTx's verdicts
// are cached). It keeps what ProcessProposal accepts, whose certificate is
// valid at the block's time, and each member's transactions in sequence
// order from the member's committed sequence. Gossip can reorder a member's
// transactions in a mempool (two peers relay N and N+1 at once); a block
// that carried N+1 before N would refuse N+1 for good and strand every later
// transaction of that member. A transaction whose sequence is ahead waits
// for its predecessor; one behind is a replay and stays out. Whatever else
// cannot apply is refused in FinalizeBlock with its code, and the mempool's
// recheck drops it.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	base, chainID := a.snapshot()
	if base != nil && chain.ChainID(base) == "" {
		base = nil
	}
	pc := newProposalCheck(a.machine, base, req.Time.Unix())
	budget := chain.NewChangeBudget() // what the block's feed update can carry
	var (
		out     [][]byte
		size    int64
		next    = map[string]uint64{}      // by member: the sequence the block needs next
		waiting = map[string][]*chain.Tx{} // by member: sequence ahead
	)
	add := func(tx *chain.Tx) bool {
		if size+int64(len(tx.Raw)) > req.MaxTxBytes {
			return false
		}
		cost := chain.StatusChangeCost(base, tx)
		if !budget.Fits(cost) {
			return false // waits for the next block (chain.CodeBlockChangesFull)
		}
		if pc.admit(tx) != nil {
			// Expired certificates too: refused in FinalizeBlock anyway.
			return false
		}
		budget.Add(cost)
		out = append(out, tx.Raw)
		size += int64(len(tx.Raw))
		return true
	}
	expected := func(signer string) uint64 {
		if n, ok := next[signer]; ok {
			return n
		}
		if base != nil {
			if m := chain.GetMember(base, signer); m != nil {
				return m.Sequence
			}
		}
		return 0 // a member added in this block starts at 0
	}
	for _, raw := range req.Txs {
		if size >= req.MaxTxBytes {
			break
		}
		tx, err := a.decode(raw, chainID)
		if err != nil {
			continue
		}
		signer := tx.Body.Signer
		if signer == "" {
			add(tx)
			continue
		}
		switch exp := expected(signer); {
		case tx.Body.Sequence > exp:
			waiting[signer] = append(waiting[signer], tx)
			continue
		case tx.Body.Sequence < exp:
			continue
		}
		if !add(tx) {
			continue
		}
		next[signer] = tx.Body.Sequence + 1
		// The member moved on: its waiting successors may follow now.
		for progress := true; progress; {
			progress = false
			for i, w := range waiting[signer] {
				if w.Body.Sequence != next[signer] {
					continue
				}
				waiting[signer] = append(waiting[signer][:i], waiting[signer][i+1:]...)
				if add(w) {
					next[signer]++
					progress = true
				}
				break
			}
		}
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}
