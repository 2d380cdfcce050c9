package app

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
)

// proposalCheck judges a block's transactions in block order, with the
// rules every honest node applies to a proposal: nothing is verified
// twice (the machine caches each verdict by transaction hash) and nothing
// depends on sequence numbers or records, which FinalizeBlock judges with
// codes. PrepareProposal builds only blocks that pass it, so an honest
// proposal is never refused.
//
// A governance action executed earlier in the block may change what the
// signature and certificate checks depend on: a member's key (add_member,
// after a remove_member of the same ID), the trust anchors (add_anchor)
// and whether signing certificates are allowed (set_params). So the checks
// run against a view of base with what such actions could add: the union
// of base's anchors and the added ones, signing certificates allowed once
// an action could allow them, and for a re-keyed member any of its keys.
// Only a governance transaction that could execute its action counts: one
// signed, with a signature that verifies, by a member holding the governor
// role in base, that proposes a well-formed action whose votes reach the
// threshold (the lowest the block could set), or votes for an open
// proposal (in base, or possibly one proposed earlier in the block) and
// brings it to the threshold. Everything else governance could change
// (removals, roles, power, claim types, upgrades) only makes FinalizeBlock
// refuse more, with codes, so it relaxes nothing. The subject's signature
// over the sign bytes, with the certificate's own key, is always checked.
type proposalCheck struct {
	m    *chain.Machine
	base chain.Store
	v    *chain.Verifier // against view; nil before the first block
	at   int64           // with at > 0, certificates must be valid at this time (PrepareProposal)
	seen map[[32]byte]bool

	view      *overlay            // base with what the block's governance could add; nil until then
	keys      map[string][][]byte // member ID -> keys an add_member in the block could give it
	threshold uint32              // the lowest governor threshold the block could have
	nextID    uint64              // the ID base gives the next proposal
	proposes  uint64              // credible proposals so far in the block
	pending   []*pendingProposal  // proposals that could still execute in the block
	loaded    map[uint64]bool     // base proposals already in pending
}

// pendingProposal is a proposal that could execute in the block: its ID is
// one of lo..hi (a proposal made in the block takes the next free ID, which
// depends on which earlier proposals succeed).
type pendingProposal struct {
	action *chainpb.GovAction
	lo, hi uint64
	votes  map[string]bool
	done   bool
}

func newProposalCheck(m *chain.Machine, base chain.Store, at int64) *proposalCheck {
	pc := &proposalCheck{m: m, base: base, at: at, seen: map[[32]byte]bool{}}
	if base != nil {
		pc.v = m.NewVerifier(base)
		pc.threshold = chain.GetParams(base).GovernorThreshold
		pc.nextID = 1
		if b := base.Get(chain.NextProposalKey()); len(b) == 8 {
			pc.nextID = binary.BigEndian.Uint64(b)
		}
	}
	return pc
}

// admit judges the next transaction of the block: it refuses one that
// appears twice, carries what data policy keeps off the chain (a JPKI
// signing certificate unless the parameters allow them; DecodeTx already
// refused My Numbers, unknown fields and oversize), or fails a signature or
// certificate check against base and what the block's earlier governance
// transactions could change.
func (pc *proposalCheck) admit(tx *chain.Tx) error {
	if pc.seen[tx.Hash] {
		return fmt.Errorf("transaction %X appears twice", tx.Hash[:8])
	}
	if pc.v != nil {
		if keys, ok := pc.keys[tx.Body.Signer]; ok && !pc.memberSigned(tx, keys) {
			return fmt.Errorf("transaction %X: signature of member %q verifies with none of its keys", tx.Hash[:8], tx.Body.Signer)
		}
		// The certificate check refuses signing certificates unless the
		// parameters allow them.
		if err := pc.v.Verify(tx, pc.at); err != nil {
			return fmt.Errorf("transaction %X: %w", tx.Hash[:8], err)
		}
	} else if chain.CarriesSigningCertificate(tx) {
		return fmt.Errorf("transaction %X carries a JPKI signing certificate (personal data), which the parameters keep off the chain", tx.Hash[:8])
	}
	pc.seen[tx.Hash] = true
	if pc.v != nil && chain.IsGovernance(tx) {
		pc.govern(tx)
	}
	return nil
}

// memberSigned reports whether tx's member signature verifies with the
// signer's key in base or one an add_member in the block could give it.
func (pc *proposalCheck) memberSigned(tx *chain.Tx, keys [][]byte) bool {
	if mem := chain.GetMember(pc.base, tx.Body.Signer); mem != nil {
		keys = append([][]byte{mem.PubKey}, keys...)
	}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, tx.SignBytes, tx.Env.MemberSignature) {
			return true
		}
	}
	return false
}

// govern notes an admitted governance transaction, and what its action
// could change when it could execute. A transaction from anyone but a
// governor of base whose key base holds unchanged changes nothing: its
// signature was verified against that key by admit.
func (pc *proposalCheck) govern(tx *chain.Tx) {
	signer := tx.Body.Signer
	if mem := chain.GetMember(pc.base, signer); mem == nil || !chain.HasRole(mem, chain.RoleGovernor) {
		return
	}
	if _, rekeyed := pc.keys[signer]; rekeyed {
		return
	}
	switch msg := tx.Body.Msg.(type) {
	case *chainpb.TxBody_Propose:
		if chain.CheckAction(msg.Propose.GetAction()) != nil {
			return // refused in FinalizeBlock without a proposal ID
		}
		p := &pendingProposal{action: msg.Propose.Action, lo: pc.nextID, hi: pc.nextID + pc.proposes, votes: map[string]bool{signer: true}}
		pc.proposes++
		pc.pending = append(pc.pending, p)
		pc.tally(p)
	case *chainpb.TxBody_Vote:
		id := msg.Vote.ProposalId
		if id < pc.nextID && !pc.loaded[id] {
			if pc.loaded == nil {
				pc.loaded = map[uint64]bool{}
			}
			pc.loaded[id] = true
			if prop := chain.GetProposal(pc.base, id); prop != nil && prop.Status == chain.ProposalOpen {
				p := &pendingProposal{action: prop.Action, lo: id, hi: id, votes: map[string]bool{}}
				for _, v := range prop.Votes {
					if g := chain.GetMember(pc.base, v); g != nil && chain.HasRole(g, chain.RoleGovernor) {
						p.votes[v] = true
					}
				}
				pc.pending = append(pc.pending, p)
			}
		}
		for _, p := range pc.pending {
			if p.lo <= id && id <= p.hi && !p.done {
				p.votes[signer] = true
				pc.tally(p)
			}
		}
	}
}

// tally applies p's action to the view once its votes reach the threshold.
func (pc *proposalCheck) tally(p *pendingProposal) {
	if p.done || uint32(len(p.votes)) < pc.threshold {
		return
	}
	p.done = true
	if chain.CheckAction(p.action) != nil {
		return // not credited: a view holds well-formed actions (parsed anchors) only
	}
	if pc.view == nil {
		pc.view = newOverlay(pc.base)
	}
	switch act := p.action.GetAction().(type) {
	case *chainpb.GovAction_AddAnchor:
		set := chain.GetAnchors(pc.view)
		set.Anchors = append(set.Anchors, proto.Clone(act.AddAnchor).(*chainpb.TrustAnchor))
		chain.SetAnchors(pc.view, set)
	case *chainpb.GovAction_SetParams:
		params := chain.GetParams(pc.view)
		if act.SetParams.GetAllowSigningCertificates() {
			params.AllowSigningCertificates = true
			chain.SetParams(pc.view, params)
		}
		if t := act.SetParams.GetGovernorThreshold(); t < pc.threshold {
			pc.threshold = t
		}
	case *chainpb.GovAction_AddMember:
		// The member's key may be the new one from here on (it was removed
		// earlier in the block): admit checks its signature against each.
		id := act.AddMember.GetId()
		if pc.keys == nil {
			pc.keys = map[string][][]byte{}
		}
		pc.keys[id] = append(pc.keys[id], act.AddMember.GetPubKey())
		pc.view.Delete(chain.MemberKey(id))
	default:
		return
	}
	pc.v = pc.m.NewVerifier(pc.view)
	// A lower threshold may let proposals noted before execute now.
	for _, q := range pc.pending {
		pc.tally(q)
	}
}

// snapshot returns the committed state and chain ID, taken under the lock;
// the committed tree is immutable, so it can be read without it. The state
// is the mempool view's memo of it: what CheckTx read of this version is
// not read from the tree again.
func (a *App) snapshot() (chain.Store, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.committed == nil {
		return nil, a.chainID
	}
	return a.memo, a.chainID
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
	costs := chain.NewCostBound(base, func(tx *chain.Tx) ([32]byte, bool) {
		if pc.v == nil {
			return [32]byte{}, false
		}
		return pc.v.SubjectCommitment(tx) // CheckTx checked the certificate: cached
	})
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
		cost := costs.Of(tx)
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
