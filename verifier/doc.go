// Package verifier is the light verifier of the feed: it trusts one
// checkpoint (a block height and hash), verifies every later block with
// CometBFT's light-client rules (light.VerifyAdjacent: +2/3 of the
// validators signed, the validator set follows from the trusted header,
// time moves forward and is not in the future, the trusted header is within
// the trusting period), checks every ClaimStatus record against its ICS23
// proof and the verified header's app hash, and keeps what it verified in a
// directory that survives restarts. Check answers from that directory
// without a network.
//
// The core (VerifyCheckpoint, VerifyUpdate, Check) takes time as an input
// and does no I/O besides the Store; Run does the networking: gossipsub,
// the sync protocol, a node's RPC.
package verifier
