// Package chain is idledger's deterministic core: the transaction format, the
// state layout and the rules that turn (state, block time, transaction) into
// new state.
//
// Nothing here reads a clock, draws randomness, does I/O or lets map order
// reach the state: the block height and time come in through Env, state
// through the Store interface. The ABCI adapter (package app) feeds it blocks;
// package node owns processes, disks and sockets.
//
// A refused transaction writes nothing: every rule is checked before the
// first write, and every refusal is a *TxError with its own Code.
//
// The package also owns what the node's readers share with it, so that each
// rule has one owner: the query protocol (query.go: PathKey, PathRange,
// ProofOpIAVL, RangeLimit), the pure ICS23 proof check a reader runs on an
// answer (proof.go: DecodeProofOp, DecodeProof, CheckProof) and the decoders
// of stored values (DecodeAnchorSet, DecodeChanges). Package client fetches
// and verifies headers around them; package verifier does the same from the
// feed.
package chain
