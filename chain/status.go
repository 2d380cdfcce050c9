package chain

import "github.com/idledger/idledger/chain/chainpb"

// ClaimState is the verdict on a claim: the answer to "does this subject
// hold a valid claim of this type?". (The chain's store is Store; a
// ClaimState is read from it, never the other way round.)
type ClaimState string

// The verdicts the chain gives.
const (
	StateValid   ClaimState = "valid"
	StateRevoked ClaimState = "revoked"
	StateExpired ClaimState = "expired"
	StateNone    ClaimState = "none"
)

// Status is a ClaimState with the attestation it rests on.
type Status struct {
	State ClaimState `json:"state"`
	// Entry is the attestation that decides the state: the live one with the
	// latest not-after when valid, else the newest one. Nil for none.
	Entry *chainpb.StatusEntry `json:"entry,omitempty"`
	// Revocation explains a revoked state: the subject's or the entry's.
	Revocation *chainpb.Revocation `json:"revocation,omitempty"`
}

// StatusOf answers from a ClaimStatus record (nil when the key is absent) at
// time now (Unix seconds). It is what the node answers and what a client
// recomputes from a proven record and a verified header's time.
func StatusOf(cs *chainpb.ClaimStatus, now int64) Status {
	if cs == nil || len(cs.Entries) == 0 && cs.SubjectRevocation == nil {
		return Status{State: StateNone}
	}
	var newest *chainpb.StatusEntry
	if n := len(cs.Entries); n > 0 {
		newest = cs.Entries[n-1]
	}
	if cs.SubjectRevocation != nil {
		return Status{State: StateRevoked, Entry: newest, Revocation: cs.SubjectRevocation}
	}
	var best *chainpb.StatusEntry
	for _, e := range cs.Entries {
		if e.Revocation == nil && e.NotAfter > now && (best == nil || e.NotAfter > best.NotAfter) {
			best = e
		}
	}
	switch {
	case best != nil:
		return Status{State: StateValid, Entry: best}
	case newest.Revocation != nil:
		return Status{State: StateRevoked, Entry: newest, Revocation: newest.Revocation}
	default:
		return Status{State: StateExpired, Entry: newest}
	}
}
