// Package genesis builds and validates idledger's genesis: the CometBFT
// genesis document whose app_state names the first members, their roles and
// keys, the JPKI trust anchors and the chain parameters.
//
// Validation is strict and specific: every refused field is named
// ("genesis: members[2].pub_key: want 32 bytes of ed25519 key, got 31"), and
// unknown JSON fields are refused rather than ignored.
package genesis
