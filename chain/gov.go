package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

// Proposal states.
const (
	ProposalOpen     = "open"
	ProposalExecuted = "executed"
	ProposalExpired  = "expired"
	ProposalFailed   = "failed"
)

// MaxValidatorPower bounds one validator's voting power.
const MaxValidatorPower = 1 << 40

// GetProposal reads a proposal, or nil.
func GetProposal(st Store, id uint64) *chainpb.Proposal {
	b := st.Get(ProposalKey(id))
	if b == nil {
		return nil
	}
	p := new(chainpb.Proposal)
	unmarshal(b, p)
	return p
}

func nextProposalID(st Store) uint64 {
	id := uint64(1)
	if b := st.Get(NextProposalKey()); len(b) == 8 {
		id = binary.BigEndian.Uint64(b)
	}
	st.Set(NextProposalKey(), binary.BigEndian.AppendUint64(nil, id+1))
	return id
}

func (m *Machine) propose(st Store, env Env, tx *Tx, p *chainpb.Propose) (*Result, error) {
	mem, err := m.signer(st, tx, RoleGovernor)
	if err != nil {
		return nil, err
	}
	if err := CheckAction(p.GetAction()); err != nil {
		return nil, refuse(CodeInvalidAction, "%v", err)
	}
	if err := m.authenticate(tx, mem); err != nil {
		return nil, err
	}
	params := GetParams(st)
	mem.Sequence++
	SetMember(st, mem)
	prop := &chainpb.Proposal{
		Id:            nextProposalID(st),
		Proposer:      mem.Id,
		Action:        p.Action,
		Votes:         []string{mem.Id},
		Height:        env.Height,
		ExpiresHeight: env.Height + params.ProposalTtlBlocks,
		Status:        ProposalOpen,
	}
	res := &Result{Events: []Event{{Type: "propose", Attrs: []Attr{
		{"proposal_id", strconv.FormatUint(prop.Id, 10)}, {"proposer", mem.Id}, {"action", actionName(p.Action)},
	}}}}
	return m.tally(st, env, prop, res), nil
}

func (m *Machine) vote(st Store, env Env, tx *Tx, v *chainpb.Vote) (*Result, error) {
	mem, err := m.signer(st, tx, RoleGovernor)
	if err != nil {
		return nil, err
	}
	prop := GetProposal(st, v.ProposalId)
	switch {
	case prop == nil:
		return nil, refuse(CodeUnknownProposal, "no proposal %d", v.ProposalId)
	case prop.Status != ProposalOpen:
		return nil, refuse(CodeProposalClosed, "proposal %d is %s", prop.Id, prop.Status)
	case slices.Contains(prop.Votes, mem.Id):
		return nil, refuse(CodeAlreadyVoted, "%s already voted for proposal %d", mem.Id, prop.Id)
	}
	if err := m.authenticate(tx, mem); err != nil {
		return nil, err
	}
	mem.Sequence++
	SetMember(st, mem)
	st.Delete(ProposalExpiryKey(prop.ExpiresHeight, prop.Id))
	prop.Votes = append(prop.Votes, mem.Id)
	res := &Result{Events: []Event{{Type: "vote", Attrs: []Attr{
		{"proposal_id", strconv.FormatUint(prop.Id, 10)}, {"voter", mem.Id}, {"votes", strconv.Itoa(len(prop.Votes))},
	}}}}
	return m.tally(st, env, prop, res), nil
}

// tally executes prop when its votes reach the threshold, else keeps it
// open until it expires; then it writes prop.
func (m *Machine) tally(st Store, env Env, prop *chainpb.Proposal, res *Result) *Result {
	// Votes of members who are no longer governors do not count.
	yes := 0
	for _, id := range prop.Votes {
		if g := GetMember(st, id); g != nil && HasRole(g, RoleGovernor) {
			yes++
		}
	}
	if uint32(yes) >= GetParams(st).GovernorThreshold {
		if err := m.execute(st, env, prop.Action); err != nil {
			prop.Status, prop.Result = ProposalFailed, err.Error()
		} else {
			prop.Status, prop.Result = ProposalExecuted, "executed at height "+strconv.FormatInt(env.Height, 10)
		}
		res.Events = append(res.Events, Event{Type: "proposal_" + prop.Status, Attrs: []Attr{
			{"proposal_id", strconv.FormatUint(prop.Id, 10)}, {"result", prop.Result},
		}})
	} else {
		st.Set(ProposalExpiryKey(prop.ExpiresHeight, prop.Id), []byte{})
	}
	st.Set(ProposalKey(prop.Id), marshal(prop))
	return res
}

// expireProposals closes the open proposals whose time ran out at height.
func expireProposals(st Store, height int64) {
	end := ProposalExpiryKey(height+1, 0)
	var keys [][]byte
	st.Iterate([]byte{prefixExpiry}, end, func(k, _ []byte) bool {
		keys = append(keys, bytes.Clone(k))
		return true
	})
	for _, k := range keys {
		st.Delete(k)
		p := GetProposal(st, binary.BigEndian.Uint64(k[9:]))
		if p != nil && p.Status == ProposalOpen {
			p.Status, p.Result = ProposalExpired, "expired at height "+strconv.FormatInt(height, 10)
			st.Set(ProposalKey(p.Id), marshal(p))
		}
	}
}

func actionName(a *chainpb.GovAction) string {
	switch a.GetAction().(type) {
	case *chainpb.GovAction_Upgrade:
		return "upgrade"
	case *chainpb.GovAction_AddMember:
		return "add_member"
	case *chainpb.GovAction_RemoveMember:
		return "remove_member"
	case *chainpb.GovAction_SetRoles:
		return "set_roles"
	case *chainpb.GovAction_SetValidatorPower:
		return "set_validator_power"
	case *chainpb.GovAction_AddAnchor:
		return "add_anchor"
	case *chainpb.GovAction_RemoveAnchor:
		return "remove_anchor"
	case *chainpb.GovAction_SetParams:
		return "set_params"
	}
	if n := claimTypeActionName(a); n != "" {
		return n
	}
	return "none"
}

// CheckAction checks a governance action's form, without state.
func CheckAction(a *chainpb.GovAction) error {
	if handled, err := checkClaimTypeAction(a); handled {
		return err
	}
	switch act := a.GetAction().(type) {
	case *chainpb.GovAction_Upgrade:
		return checkUpgrade(act.Upgrade)
	case *chainpb.GovAction_AddMember:
		if act.AddMember.Sequence != 0 {
			return fmt.Errorf("add_member: a new member starts at sequence 0")
		}
		if err := ValidateMember(act.AddMember); err != nil {
			return fmt.Errorf("add_member: %w", err)
		}
	case *chainpb.GovAction_RemoveMember:
		if !ValidMemberID(act.RemoveMember) {
			return fmt.Errorf("remove_member: %q is not a member ID", act.RemoveMember)
		}
	case *chainpb.GovAction_SetRoles:
		if !ValidMemberID(act.SetRoles.Member) {
			return fmt.Errorf("set_roles: %q is not a member ID", act.SetRoles.Member)
		}
		if err := ValidateRoles(act.SetRoles.Roles); err != nil {
			return fmt.Errorf("set_roles: %w", err)
		}
	case *chainpb.GovAction_SetValidatorPower:
		v := act.SetValidatorPower
		if !ValidMemberID(v.Member) {
			return fmt.Errorf("set_validator_power: %q is not a member ID", v.Member)
		}
		if len(v.PubKey) != 32 {
			return fmt.Errorf("set_validator_power: want a 32-byte ed25519 consensus key, got %d bytes", len(v.PubKey))
		}
		if v.Power < 0 || v.Power > MaxValidatorPower {
			return fmt.Errorf("set_validator_power: power %d out of 0..%d", v.Power, int64(MaxValidatorPower))
		}
	case *chainpb.GovAction_AddAnchor:
		kind, err := jpki.ParseKind(act.AddAnchor.Kind)
		if err != nil || kind == jpki.KindUnknown {
			return fmt.Errorf("add_anchor: kind %q: want auth or sign", act.AddAnchor.Kind)
		}
		pa, err := jpki.ParseAnchor(act.AddAnchor.Certificate)
		if err != nil {
			return fmt.Errorf("add_anchor: %w", err)
		}
		if pa.Kind != kind {
			return fmt.Errorf("add_anchor: declared %s but the certificate is a %s CA", kind, pa.Kind)
		}
	case *chainpb.GovAction_RemoveAnchor:
		if len(act.RemoveAnchor) != sha256.Size {
			return fmt.Errorf("remove_anchor: an anchor ID is the SHA-256 of its certificate (32 bytes)")
		}
	case *chainpb.GovAction_SetParams:
		if act.SetParams == nil {
			return fmt.Errorf("set_params: no parameters")
		}
		if err := ValidateParams(act.SetParams, 0); err != nil {
			return fmt.Errorf("set_params: %w", err)
		}
	default:
		return fmt.Errorf("no action")
	}
	return nil
}

func countGovernors(members []*chainpb.Member) int {
	n := 0
	for _, m := range members {
		if HasRole(m, RoleGovernor) {
			n++
		}
	}
	return n
}

// execute applies an action whose votes reached the threshold. An action
// that no longer fits the state (the member exists already, the threshold
// would become unreachable, ...) fails and changes nothing.
func (m *Machine) execute(st Store, env Env, a *chainpb.GovAction) error {
	members := Members(st)
	find := func(id string) *chainpb.Member {
		for _, mem := range members {
			if mem.Id == id {
				return mem
			}
		}
		return nil
	}
	if handled, err := executeClaimTypeAction(st, env, a); handled {
		return err
	}
	threshold := GetParams(st).GovernorThreshold
	switch act := a.GetAction().(type) {
	case *chainpb.GovAction_Upgrade:
		return scheduleUpgrade(st, env, act.Upgrade)
	case *chainpb.GovAction_AddMember:
		// A copy: the action belongs to a decoded transaction that other
		// callers share (a cached CheckTx result), and to the proposal
		// record written after this. Changing it in place would make nodes
		// that saw the transaction in their mempool write another proposal
		// than nodes that did not.
		n := proto.Clone(act.AddMember).(*chainpb.Member)
		if owner := RetiredKeyOwner(st, n.PubKey); owner != "" {
			return fmt.Errorf("that key was removed member %q's: a retired key never signs for a member again", owner)
		}
		for _, mem := range members {
			if mem.Id == n.Id {
				return fmt.Errorf("member %q exists already", n.Id)
			}
			if bytes.Equal(mem.PubKey, n.PubKey) {
				return fmt.Errorf("member %q has that key already", mem.Id)
			}
			for _, id := range n.NodeIds {
				if slices.Contains(mem.NodeIds, id) {
					return fmt.Errorf("node %s is member %q's already", id, mem.Id)
				}
			}
		}
		slices.Sort(n.Roles)
		slices.Sort(n.NodeIds)
		n.AddedHeight, n.AddedTxIndex = env.Height, env.TxIndex
		SetMember(st, n)
	case *chainpb.GovAction_RemoveMember:
		mem := find(act.RemoveMember)
		if mem == nil {
			return fmt.Errorf("no member %q", act.RemoveMember)
		}
		if HasRole(mem, RoleGovernor) && countGovernors(members)-1 < int(threshold) {
			return fmt.Errorf("removing %q would leave fewer governors than the threshold %d", mem.Id, threshold)
		}
		var vals [][]byte
		for _, v := range Validators(st) {
			if v.Member == mem.Id {
				vals = append(vals, v.PubKey)
			}
		}
		if err := m.checkPowerChange(st, vals, 0); err != nil {
			return err
		}
		for _, pub := range vals {
			setPower(st, pub, 0, mem.Id)
		}
		st.Delete(MemberKey(mem.Id))
		retireMember(st, mem)
	case *chainpb.GovAction_SetRoles:
		mem := find(act.SetRoles.Member)
		if mem == nil {
			return fmt.Errorf("no member %q", act.SetRoles.Member)
		}
		roles := slices.Clone(act.SetRoles.Roles)
		slices.Sort(roles)
		if HasRole(mem, RoleGovernor) && !slices.Contains(roles, RoleGovernor) && countGovernors(members)-1 < int(threshold) {
			return fmt.Errorf("taking the governor role from %q would leave fewer governors than the threshold %d", mem.Id, threshold)
		}
		// Without the validator role a member holds no voting power: its
		// validators go to power 0 (CometBFT gets the updates at EndBlock),
		// or the change fails when they are the last ones.
		if HasRole(mem, RoleValidator) && !slices.Contains(roles, RoleValidator) {
			vals := validatorsOf(st, mem.Id)
			if err := m.checkPowerChange(st, vals, 0); err != nil {
				return err
			}
			for _, pub := range vals {
				setPower(st, pub, 0, mem.Id)
			}
		}
		mem.Roles = roles
		SetMember(st, mem)
	case *chainpb.GovAction_SetValidatorPower:
		v := act.SetValidatorPower
		mem := find(v.Member)
		if mem == nil {
			return fmt.Errorf("no member %q", v.Member)
		}
		if v.Power > 0 && !HasRole(mem, RoleValidator) {
			return fmt.Errorf("member %q does not hold the validator role", v.Member)
		}
		if cur := getValidator(st, v.PubKey); cur != nil && cur.Member != v.Member && cur.Member != "" {
			return fmt.Errorf("that consensus key is member %q's validator", cur.Member)
		} else if cur == nil && v.Power == 0 {
			return fmt.Errorf("no validator with that key")
		}
		if err := m.checkPowerChange(st, [][]byte{v.PubKey}, v.Power); err != nil {
			return err
		}
		setPower(st, v.PubKey, v.Power, v.Member)
	case *chainpb.GovAction_AddAnchor:
		set := GetAnchors(st)
		for _, x := range set.Anchors {
			if bytes.Equal(x.Certificate, act.AddAnchor.Certificate) {
				return fmt.Errorf("that anchor is trusted already")
			}
		}
		set.Anchors = append(set.Anchors, proto.Clone(act.AddAnchor).(*chainpb.TrustAnchor))
		SetAnchors(st, set)
	case *chainpb.GovAction_RemoveAnchor:
		set := GetAnchors(st)
		i := slices.IndexFunc(set.Anchors, func(x *chainpb.TrustAnchor) bool {
			h := sha256.Sum256(x.Certificate)
			return bytes.Equal(h[:], act.RemoveAnchor)
		})
		if i < 0 {
			return fmt.Errorf("no trust anchor %x", act.RemoveAnchor)
		}
		auth := 0
		for _, x := range set.Anchors {
			if x.Kind == jpki.KindAuth.String() {
				auth++
			}
		}
		if set.Anchors[i].Kind == jpki.KindAuth.String() && auth == 1 {
			return fmt.Errorf("that is the last user-authentication anchor: no attestation could be made without one")
		}
		set.Anchors = slices.Delete(set.Anchors, i, i+1)
		SetAnchors(st, set)
	case *chainpb.GovAction_SetParams:
		if err := ValidateParams(act.SetParams, countGovernors(members)); err != nil {
			return err
		}
		SetParams(st, proto.Clone(act.SetParams).(*chainpb.Params))
	default:
		return fmt.Errorf("no action")
	}
	return nil
}

func getValidator(st Store, pub []byte) *chainpb.Validator {
	b := st.Get(ValidatorKey(pub))
	if b == nil {
		return nil
	}
	v := new(chainpb.Validator)
	unmarshal(b, v)
	return v
}

// checkPowerChange refuses a change that would leave no validator.
func (m *Machine) checkPowerChange(st Store, pubs [][]byte, power int64) error {
	if power > 0 || len(pubs) == 0 {
		return nil
	}
	left := 0
	for _, v := range Validators(st) {
		if !slices.ContainsFunc(pubs, func(p []byte) bool { return bytes.Equal(p, v.PubKey) }) {
			left++
		}
	}
	if left == 0 {
		return fmt.Errorf("that would leave the chain without validators")
	}
	return nil
}

// setPower records a validator's new power and queues the update for
// EndBlock.
func setPower(st Store, pub []byte, power int64, member string) {
	SetValidator(st, pub, power, member)
	st.Set(PendingPowerKey(pub), binary.BigEndian.AppendUint64(nil, uint64(power)))
}

// pendingPower takes the validator updates queued in this block, in key
// order.
func pendingPower(st Store) []ValidatorUpdate {
	var out []ValidatorUpdate
	var keys [][]byte
	st.Iterate([]byte{prefixPendingPower}, PrefixEnd([]byte{prefixPendingPower}), func(k, v []byte) bool {
		keys = append(keys, bytes.Clone(k))
		out = append(out, ValidatorUpdate{PubKey: bytes.Clone(k[1:]), Power: int64(binary.BigEndian.Uint64(v))})
		return true
	})
	for _, k := range keys {
		st.Delete(k)
	}
	return out
}
