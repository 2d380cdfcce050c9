// Package presentationpb is the generated Go code of a holder's
// presentation at a gate (proto/idledger/v1/presentation.proto).
// Regenerate with proto/gen.sh; only this file is written by hand. Package
// presentation makes and checks them.
package presentationpb
