// Package app is idledger's ABCI++ application: it adapts CometBFT's calls
// onto the deterministic rules of package chain and keeps the state in one
// github.com/cosmos/iavl tree whose root is the app hash.
//
// A node verifies each transaction once, on every core. CheckTx decodes a
// transaction and verifies its signatures and certificate chain against
// the last committed state outside the app's lock (the node gives each ABCI
// connection its own mutex); only the state rules run under the lock.
// Decoded transactions are immutable and cached by hash; verification
// verdicts are cached by the state machine (package chain), so recheck,
// PrepareProposal, ProcessProposal and FinalizeBlock verify nothing again.
// ProcessProposal refuses blocks from a faulty or hostile proposer (see
// proposal.go); FinalizeBlock refuses what still gets in, with codes,
// changing nothing.
package app
