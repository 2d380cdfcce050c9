package fastrsa

import (
	"crypto"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"
)

// A Signer whose values disagree with its public key refuses to hand out
// the wrong signature it computed.
func TestSignChecksItsSignature(t *testing.T) {
	key, err := GenerateKey(4)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("fault"))
	if _, err := s.Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	s.exps[2] = new(big.Int).Add(new(big.Int).SetBytes(s.exps[2]), big.NewInt(1)).Bytes()
	if sig, err := s.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, ErrCheck) || sig != nil {
		t.Fatalf("a corrupted exponent: %x, %v; want no signature and ErrCheck", sig, err)
	}
}
