package fastrsa_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/internal/fastrsa"
)

// Keys are slow to make: one of each prime count per test binary.
var (
	keysOnce sync.Once
	keys     map[int]*rsa.PrivateKey
	keysErr  error
)

var primeCounts = []int{2, 3, 8}

func testKeys(t testing.TB) map[int]*rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		keys = map[int]*rsa.PrivateKey{}
		for _, n := range primeCounts {
			k, err := fastrsa.GenerateKey(n)
			if err != nil {
				keysErr = err
				return
			}
			keys[n] = k
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

func signer(t testing.TB, key *rsa.PrivateKey) *fastrsa.Signer {
	t.Helper()
	s, err := fastrsa.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkSame asserts that the fast signature of msg is rsa.SignPKCS1v15's,
// byte for byte, and that rsa.VerifyPKCS1v15 accepts it.
func checkSame(t testing.TB, key *rsa.PrivateKey, s *fastrsa.Signer, msg []byte) {
	t.Helper()
	digest := sha256.Sum256(msg)
	got, err := s.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("%d primes: %v", len(key.Primes), err)
	}
	want, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%d primes, message %x: signature differs from crypto/rsa's\n got %x\nwant %x", len(key.Primes), msg, got, want)
	}
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], got); err != nil {
		t.Fatalf("%d primes: crypto/rsa does not verify the signature: %v", len(key.Primes), err)
	}
}

func TestSignIsCryptoRSAsSignature(t *testing.T) {
	msgs := [][]byte{nil, []byte("idledger"), bytes.Repeat([]byte{0xff}, 1000)}
	for i := range 5 {
		m := make([]byte, 64)
		m[0] = byte(i)
		if _, err := rand.Read(m[1:]); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	for _, n := range primeCounts {
		key := testKeys(t)[n]
		if len(key.Primes) != n || key.N.BitLen() != 2048 || key.E != 65537 {
			t.Fatalf("GenerateKey(%d): %d primes, %d bits, E=%d; want %d primes, 2048 bits, E=65537", n, len(key.Primes), key.N.BitLen(), key.E, n)
		}
		s := signer(t, key)
		if !key.PublicKey.Equal(s.Public()) {
			t.Fatalf("%d primes: Public is not the key's public key", n)
		}
		for _, m := range msgs {
			checkSame(t, key, s, m)
		}
	}
}

// x509.CreateCertificate takes a Signer as the CA's key and makes the very
// certificate the *rsa.PrivateKey makes.
func TestSignerIssuesCertificates(t *testing.T) {
	for _, n := range []int{2, 8} {
		key := testKeys(t)[n]
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(42),
			Subject:               pkix.Name{CommonName: "fastrsa test CA"},
			NotBefore:             time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:              time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
			SignatureAlgorithm:    x509.SHA256WithRSA,
		}
		got, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, signer(t, key))
		if err != nil {
			t.Fatalf("%d primes: %v", n, err)
		}
		want, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d primes: the certificate differs from the one crypto/rsa signs", n)
		}
		cert, err := x509.ParseCertificate(got)
		if err != nil {
			t.Fatal(err)
		}
		if err := cert.CheckSignatureFrom(cert); err != nil {
			t.Errorf("%d primes: %v", n, err)
		}
	}
}

type hashOnly crypto.Hash

func (h hashOnly) HashFunc() crypto.Hash { return crypto.Hash(h) }

func TestSignRefusesWhatItDoesNotDo(t *testing.T) {
	s := signer(t, testKeys(t)[8])
	d := sha256.Sum256([]byte("x"))
	for _, tc := range []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
		want   error
	}{
		{"no options", d[:], nil, fastrsa.ErrUnsupported},
		{"PSS", d[:], &rsa.PSSOptions{Hash: crypto.SHA256}, fastrsa.ErrUnsupported},
		{"SHA-1", d[:20], crypto.SHA1, fastrsa.ErrUnsupported},
		{"SHA-512", d[:], crypto.SHA512, fastrsa.ErrUnsupported},
		{"no hash (raw)", d[:], crypto.Hash(0), fastrsa.ErrUnsupported},
		{"short digest", d[:31], crypto.SHA256, fastrsa.ErrDigestSize},
		{"long digest", append(d[:], 0), crypto.SHA256, fastrsa.ErrDigestSize},
		{"no digest", nil, crypto.SHA256, fastrsa.ErrDigestSize},
	} {
		sig, err := s.Sign(nil, tc.digest, tc.opts)
		if !errors.Is(err, tc.want) || sig != nil {
			t.Errorf("%s: %x, %v; want no signature and %v", tc.name, sig, err, tc.want)
		}
	}
	// Options other than crypto.Hash that name SHA-256 are fine.
	if _, err := s.Sign(nil, d[:], hashOnly(crypto.SHA256)); err != nil {
		t.Errorf("options naming SHA-256: %v", err)
	}
}

func TestNewRefusesUnusableKeys(t *testing.T) {
	good := testKeys(t)[3]
	clone := func(f func(k *rsa.PrivateKey)) *rsa.PrivateKey {
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Set(good.N), E: good.E}, D: new(big.Int).Set(good.D)}
		for _, p := range good.Primes {
			k.Primes = append(k.Primes, new(big.Int).Set(p))
		}
		f(k)
		return k
	}
	for _, tc := range []struct {
		name string
		key  *rsa.PrivateKey
	}{
		{"nil", nil},
		{"public only", &rsa.PrivateKey{PublicKey: good.PublicKey}},
		{"one prime", clone(func(k *rsa.PrivateKey) { k.Primes = k.Primes[:1] })},
		{"a prime missing", clone(func(k *rsa.PrivateKey) { k.Primes = k.Primes[:2] })},
		{"a wrong prime", clone(func(k *rsa.PrivateKey) { k.Primes[1] = big.NewInt(7) })},
		{"a wrong exponent", clone(func(k *rsa.PrivateKey) { k.D.Add(k.D, big.NewInt(2)) })},
		{"another modulus", clone(func(k *rsa.PrivateKey) { k.N = new(big.Int).Set(testKeys(t)[8].N) })},
	} {
		if s, err := fastrsa.New(tc.key); !errors.Is(err, fastrsa.ErrKey) || s != nil {
			t.Errorf("%s: %v, want ErrKey", tc.name, err)
		}
	}
}

// The fast signature of any message is crypto/rsa's, for a 2-prime and an
// 8-prime key.
func FuzzSign(f *testing.F) {
	for _, seed := range [][]byte{nil, {0}, []byte("idledger/attest/v1"), bytes.Repeat([]byte{0xa5}, 1329)} {
		f.Add(seed)
	}
	ks := testKeys(f)
	two, eight := signer(f, ks[2]), signer(f, ks[8])
	f.Fuzz(func(t *testing.T, msg []byte) {
		checkSame(t, ks[2], two, msg)
		checkSame(t, ks[8], eight, msg)
	})
}

func BenchmarkSign(b *testing.B) {
	for _, n := range []int{2, 8} {
		key := testKeys(b)[n]
		s := signer(b, key)
		d := sha256.Sum256([]byte("bench"))
		b.Run("fastrsa/"+string(rune('0'+n))+"primes", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Sign(nil, d[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("crypto-rsa/"+string(rune('0'+n))+"primes", func(b *testing.B) {
			for b.Loop() {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
