// Package presentation is the holder's proof of possession at a gate: the
// holder signs, with the JPKI card, a relying party's single-use challenge,
// the relying party's name (audience), the chain ID and a time; the relying
// party checks the signature, the certificate chain to a trust anchor,
// freshness, single use of the challenge and the holder's attestation
// status.
//
// The core (Encode, Decode, SignBytes, Verify) is pure apart from the two
// interfaces it is given: a ChallengeStore (single use) and a StatusSource
// (a node with proofs, or a light verifier's store). Time is an input.
//
// Sign bytes are "idledger/presentation/v1" || 0x00 || body, where body is
// the exact PresentationBody bytes carried in the presentation; transactions
// sign "idledger/tx/v1" || 0x00 || body, so neither can stand for the
// other.
package presentation
