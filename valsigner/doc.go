// Package valsigner keeps a validator's consensus key off the node: it
// dials a node configured with priv_validator_laddr and answers CometBFT's
// privval protocol (public key, sign vote, sign proposal, ping) with the
// key of a CometBFT key file, refusing to sign anything that could be a
// double sign.
//
// The last signed height, round and step (and what was signed there) live
// in a sign-state file of the same format as CometBFT's
// priv_validator_state.json, so a validator can move between a local key
// and a remote signer with the files as they are. The state is written
// crash-safe (temporary file, fsync, rename, fsync of the directory) before
// a signature leaves the process.
package valsigner
