// Package jpki verifies JPKI certificates and signatures: the public-key
// infrastructure of Japan's My Number Card, run by J-LIS.
//
// It owns the rules that decide whether a certificate may stand behind an
// idledger attestation, in the style of crypto/x509 but narrower:
//
//   - [ParseAnchor] and [ParseAnchorsPEM] classify trust anchors (J-LIS root
//     CA certificates, or a test CA from package testca) as user-authentication
//     or digital-signature anchors from their subject OU.
//   - [Check] runs every time-independent check on a subject certificate
//     (encoding, key, algorithm, profile, issuer and issuer signature) and
//     returns a [Certificate] that callers may cache per DER bytes;
//     [Certificate.ValidAt] adds the validity window at a caller-given time.
//   - [Commitment] computes the identity commitment that idledger state holds
//     instead of certificates.
//   - [DigestInfo] and [VerifySignature] are the subject-signature scheme of the
//     JPKI applet: RSA PKCS#1 v1.5 over a SHA-256 DigestInfo.
//
// The package is pure: no clock, no I/O, no randomness. Every error it returns
// is a *[Error] carrying a stable [Reason], so errors.As works on all of them
// and the ABCI layer can map reasons one-to-one onto response codes.
//
// JPKI issues end-entity certificates directly from its root CAs; there are
// no intermediates and Check does not build chains longer than one.
package jpki
