package chain

import (
	"crypto/ed25519"
	"testing"
)

// FuzzMemberSigMatchesStdlib: a member signature is valid exactly when
// crypto/ed25519 says so, for any key, message and signature bytes (a node
// that verified with the standard library would agree on every block).
func FuzzMemberSigMatchesStdlib(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	msg := []byte("idledger member signature")
	sig := ed25519.Sign(priv, msg)
	f.Add([]byte(pub), msg, sig)
	bad := append([]byte(nil), sig...)
	bad[63] |= 0xf0 // S not canonical
	f.Add([]byte(pub), msg, bad)
	small := make([]byte, 32) // the identity point, a small-order key
	small[0] = 1
	f.Add(small, msg, sig)
	nonCanon := make([]byte, 32) // y = p+1: a non-canonical encoding
	for i := range nonCanon {
		nonCanon[i] = 0xff
	}
	nonCanon[0], nonCanon[31] = 0xee, 0x7f
	f.Add(nonCanon, msg, sig)
	f.Add([]byte(pub)[:31], msg, sig)
	negZero := make([]byte, 32) // y = 1 with the sign bit set: x = -0
	negZero[0], negZero[31] = 1, 0x80
	f.Add(negZero, msg, sig)
	// A small-order key with a signature whose R is the identity and S is
	// zero: verifies under the cofactorless rule for any message.
	idSig := make([]byte, 64)
	idSig[0] = 1
	f.Add(small, msg, idSig)
	nonCanonR := append([]byte(nil), idSig...) // R = identity, encoded with y = p+1
	copy(nonCanonR, nonCanon)
	f.Add(small, msg, nonCanonR)
	f.Add(negZero, msg, idSig)
	order2 := make([]byte, 32) // (0, -1), the point of order 2
	for i := range order2 {
		order2[i] = 0xff
	}
	order2[0], order2[31] = 0xec, 0x7f
	f.Add(order2, msg, idSig)
	sMax := append([]byte(nil), sig...) // S = 2^253-1 > L: not canonical
	for i := 32; i < 64; i++ {
		sMax[i] = 0xff
	}
	sMax[63] = 0x1f
	f.Add([]byte(pub), msg, sMax)
	keys := newMemberKeys(4)
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		want := len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
		for range 2 { // cold, then with the expanded key cached
			if got := keys.verify(pub, msg, sig); got != want {
				t.Fatalf("verify(%x, %x, %x) = %v, crypto/ed25519 says %v", pub, msg, sig, got, want)
			}
		}
	})
}

func TestMemberSigRefusesWrongKeyAndMessage(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	other, _, _ := ed25519.GenerateKey(nil)
	msg := []byte("m")
	sig := ed25519.Sign(priv, msg)
	keys := newMemberKeys(4)
	if !keys.verify(pub, msg, sig) {
		t.Fatal("a good signature is refused")
	}
	if keys.verify(other, msg, sig) {
		t.Fatal("another member's key verifies the signature")
	}
	if keys.verify(pub, []byte("n"), sig) {
		t.Fatal("the signature verifies another message")
	}
}
