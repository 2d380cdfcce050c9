package jpki

import (
	"crypto/sha256"
	"math/big"
)

// CommitmentDomain is the domain-separation prefix of identity commitments.
const CommitmentDomain = "idledger/subject/v1"

// Commitment is the identity commitment of a JPKI certificate:
//
//	S = SHA-256("idledger/subject/v1" || issuerDN || serial)
//
// issuerDN is the raw DER of the certificate's issuer Name (a self-delimiting
// SEQUENCE, so the concatenation is unambiguous) and serial is the minimal
// big-endian unsigned encoding of the positive serial number, as
// big.Int.Bytes returns it: no sign byte, no leading zeros, unlike the DER
// INTEGER. A revoker computes S from a CRL entry's serial and the CRL issuer's
// DN without the certificate. Callers pass a positive serial (Check refuses
// others); a negative serial would commit to its absolute value and nil to
// the empty string.
func Commitment(issuerDN []byte, serial *big.Int) [32]byte {
	h := sha256.New()
	h.Write([]byte(CommitmentDomain))
	h.Write(issuerDN)
	if serial != nil {
		h.Write(serial.Bytes())
	}
	var s [32]byte
	h.Sum(s[:0])
	return s
}
