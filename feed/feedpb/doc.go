// Package feedpb is the generated Go code of the verifier feed's wire
// messages (proto/idledger/v1/feed.proto): the per-block updates nodes
// publish, the sync requests and answers, and the records a verifier keeps
// in its store. Regenerate with proto/gen.sh; only this file is written by
// hand. Package feed builds and checks them.
package feedpb
