package chain

// The app's query protocol, shared by the node (package app) and its
// clients (package client, feed publishers).
const (
	// PathKey reads one stored value; the query data is the key. With
	// prove, the answer carries one ProofOpIAVL: an ICS23 proof (existence,
	// or non-existence when the value is empty) against the app hash of the
	// version answered, which is in the header of the next block.
	PathKey = "/key"
	// PathRange lists the pairs under a prefix (the query data) in key
	// order, at most RangeLimit of them, as a chainpb.Range. PathRange +
	// "/after/" + a hex key continues after that key.
	PathRange = "/range"
	// ProofOpIAVL is the type of the proof op of a proven PathKey answer.
	ProofOpIAVL = "ics23:iavl"
	// RangeLimit bounds one PathRange answer.
	RangeLimit = 1000
)
