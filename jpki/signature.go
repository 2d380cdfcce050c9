package jpki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
)

// digestInfoPrefix is the DER of DigestInfo{sha256 with NULL parameters,
// OCTET STRING of 32 bytes} up to the digest.
var digestInfoPrefix = []byte{
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
}

// DigestInfoSize is the length of a SHA-256 DigestInfo: 19 + 32 bytes.
const DigestInfoSize = 19 + sha256.Size

// DigestInfo returns the DER DigestInfo{sha256, SHA-256(message)}: what the
// JPKI applet signs.
func DigestInfo(message []byte) []byte {
	h := sha256.Sum256(message)
	return append(append(make([]byte, 0, DigestInfoSize), digestInfoPrefix...), h[:]...)
}

// ParseDigestInfo returns the SHA-256 digest inside a DER DigestInfo as
// DigestInfo builds it (sha256 with NULL parameters). Anything else is
// ReasonMalformed.
func ParseDigestInfo(digestInfo []byte) ([]byte, error) {
	if len(digestInfo) != DigestInfoSize || !bytes.HasPrefix(digestInfo, digestInfoPrefix) {
		return nil, errorf(ReasonMalformed, "not a SHA-256 DigestInfo (%d bytes)", len(digestInfo))
	}
	return digestInfo[len(digestInfoPrefix):], nil
}

// VerifySignature checks a JPKI signature: RSA PKCS#1 v1.5 over
// SHA-256(message), which is what the applet produces when it signs
// DigestInfo(message). Any failure is ReasonBadSignature.
func VerifySignature(pub *rsa.PublicKey, message, sig []byte) error {
	if pub == nil || pub.N == nil {
		return errorf(ReasonBadSignature, "signature does not verify: no public key")
	}
	h := sha256.Sum256(message)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		return errorf(ReasonBadSignature, "signature does not verify")
	}
	return nil
}
