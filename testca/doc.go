// Package testca is a test JPKI certificate authority for testnets and tests.
//
// It issues certificates shaped like the real ones of J-LIS: a self-signed
// RSA-2048 root whose subject mirrors the J-LIS root CAs, and end-entity
// certificates with the user-authentication profile (or, for negative tests,
// the digital-signature profile with fake personal data). Every name it
// writes says TEST, and its CAs classify as test anchors in package jpki
// (jpki.Anchor.Test), so a production genesis can refuse them.
//
// A CA lives either in memory ([New], for tests) or in a directory ([Init],
// [Load], for testnets):
//
//	DIR/ca.crt              the CA certificate (PEM)
//	DIR/ca.key              its key (PEM PKCS#8, mode 0600)
//	DIR/index.json          issued serial numbers and holders
//	DIR/holders/NAME.crt    a holder's certificate (PEM)
//	DIR/holders/NAME.key    a holder's key (PEM PKCS#8, mode 0600)
//
// One process at a time may issue from a directory-backed CA.
//
// Not here yet: revocation (Revoke by serial) and CRL issuance; index.json
// keeps each issued serial so they can be added without a format change.
package testca
