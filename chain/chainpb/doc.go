// Package chainpb is the generated Go code of idledger's transactions,
// stored state and query answers (proto/idledger/v1/tx.proto, state.proto,
// query.proto). Regenerate with proto/gen.sh; only this file is written by
// hand. The rules over these messages are package chain's.
package chainpb
