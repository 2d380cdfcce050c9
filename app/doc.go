// Package app is idledger's ABCI++ application: it adapts CometBFT's calls
// onto the deterministic rules of package chain and keeps the state in one
// github.com/cosmos/iavl tree whose root is the app hash.
//
// A node verifies each transaction once. CheckTx decodes a transaction,
// checks it against a cached view of the committed state and keeps the
// decoded transaction (with its verified signatures) in a bounded cache
// keyed by the transaction's hash; FinalizeBlock takes it from there and
// runs only the state-dependent rules again. Certificate chains are checked
// once per certificate (package chain caches them).
package app
