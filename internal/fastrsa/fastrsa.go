// Package fastrsa makes RSA PKCS#1 v1.5 signatures with SHA-256 quickly
// from multi-prime keys, for benchmark and test keys only.
//
// It is NOT constant-time (its arithmetic, its own and math/big's, takes a
// time that depends on the key and the message) and a multi-prime key of
// small primes is weaker than a standard one: never use it, or its keys, for
// a real holder's or a real CA's key. It exists because the growth benchmark
// makes about a million signatures with test keys between its timed phases,
// and Go's crypto/rsa spends about 2 ms on each here (5 ms with a
// multi-prime key, which it signs without the Chinese remainder theorem).
//
// A Signer precomputes, once, d mod (p_i - 1) for every prime p_i of the key
// and Garner's coefficients, and signs with one modular exponentiation per
// prime (Montgomery multiplication on 64-bit limbs): with an 8-prime
// 2048-bit key (GenerateKey(8)) that is eight exponentiations of 256-bit
// numbers, about 0.3 ms here. Every signature is checked with
// rsa.VerifyPKCS1v15 before it is returned.
//
// PKCS#1 v1.5 signatures are deterministic: a Signer's signature is byte for
// byte what rsa.SignPKCS1v15 makes with the same key, and verifying it costs
// what verifying any signature of the same public key (N, E) costs, whatever
// the number of primes behind it.
package fastrsa

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Errors of New and Sign.
var (
	// ErrKey is returned by New for a key it cannot sign with: nil, fewer
	// than two primes, primes whose product is not the modulus, or a key
	// that crypto/rsa does not validate.
	ErrKey = errors.New("fastrsa: unusable private key")
	// ErrUnsupported is returned by Sign for anything but a PKCS#1 v1.5
	// signature of a SHA-256 digest (PSS options, other hashes, none).
	ErrUnsupported = errors.New("fastrsa: only PKCS#1 v1.5 signatures of SHA-256 digests are supported")
	// ErrDigestSize is returned by Sign when the digest is not 32 bytes.
	ErrDigestSize = errors.New("fastrsa: the digest is not a SHA-256 digest (32 bytes)")
	// ErrCheck is returned by Sign when the signature it computed does not
	// verify with the public key (a key whose values disagree); no
	// signature is returned then.
	ErrCheck = errors.New("fastrsa: the computed signature does not verify")
)

// sha256Prefix is the DER DigestInfo of a SHA-256 digest, without the digest
// (RFC 8017 section 9.2, note 1).
var sha256Prefix = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// Signer signs with a private key's CRT values. It is safe for concurrent
// use: Sign only reads it.
type Signer struct {
	pub    *rsa.PublicKey
	e      *big.Int
	size   int        // modulus bytes
	primes []*big.Int // p_0 .. p_{k-1}
	exps   [][]byte   // d mod (p_i - 1), big-endian
	mods   []*modulus // Montgomery arithmetic mod p_i
	// Garner: for i >= 1, prods[i] = p_0 × … × p_{i-1} and
	// coeffs[i] = prods[i]^-1 mod p_i (index 0 unused).
	prods  []*big.Int
	coeffs []*big.Int
}

var _ crypto.Signer = (*Signer)(nil)

// New precomputes the signing values of key, which must have at least two
// primes. key is not kept or changed.
func New(key *rsa.PrivateKey) (*Signer, error) {
	if key == nil || key.N == nil || key.D == nil {
		return nil, fmt.Errorf("%w: no key", ErrKey)
	}
	if len(key.Primes) < 2 {
		return nil, fmt.Errorf("%w: %d primes, want at least 2", ErrKey, len(key.Primes))
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	one := big.NewInt(1)
	s := &Signer{
		pub:  &rsa.PublicKey{N: new(big.Int).Set(key.N), E: key.E},
		e:    big.NewInt(int64(key.E)),
		size: (key.N.BitLen() + 7) / 8,
	}
	prod := big.NewInt(1)
	for i, p := range key.Primes {
		if p == nil || p.Cmp(one) <= 0 {
			return nil, fmt.Errorf("%w: prime %d is not above 1", ErrKey, i)
		}
		p = new(big.Int).Set(p)
		pm1 := new(big.Int).Sub(p, one)
		s.primes = append(s.primes, p)
		dp := new(big.Int).Mod(key.D, pm1)
		// crypto/rsa's Validate does not check D against every prime of a
		// multi-prime key: e × d ≡ 1 (mod p_i - 1) or m^(d e) is not m.
		if ed := new(big.Int).Mul(dp, s.e); ed.Mod(ed, pm1).Cmp(one) != 0 {
			return nil, fmt.Errorf("%w: the private exponent does not invert E modulo prime %d minus 1", ErrKey, i)
		}
		md, err := newModulus(p)
		if err != nil {
			return nil, fmt.Errorf("%w: prime %d: %v", ErrKey, i, err)
		}
		s.exps = append(s.exps, dp.Bytes())
		s.mods = append(s.mods, md)
		if i == 0 {
			s.prods = append(s.prods, nil)
			s.coeffs = append(s.coeffs, nil)
		} else {
			inv := new(big.Int).ModInverse(new(big.Int).Mod(prod, p), p)
			if inv == nil {
				return nil, fmt.Errorf("%w: prime %d shares a factor with the others", ErrKey, i)
			}
			s.prods = append(s.prods, new(big.Int).Set(prod))
			s.coeffs = append(s.coeffs, inv)
		}
		prod.Mul(prod, p)
	}
	if prod.Cmp(key.N) != 0 {
		return nil, fmt.Errorf("%w: the primes' product is not the modulus", ErrKey)
	}
	return s, nil
}

// GenerateKey makes a 2048-bit RSA key of nprimes primes (crypto/rsa's
// GenerateMultiPrimeKey, from crypto/rand), for benchmarks and tests only:
// its public key is an ordinary RSA-2048 key with E = 65537, and more primes
// make New's Signer faster (8 is a good choice; with 2 it is slower than
// crypto/rsa) and the key weaker.
func GenerateKey(nprimes int) (*rsa.PrivateKey, error) {
	//lint:ignore SA1019 multi-prime keys are this package's purpose: test keys only.
	key, err := rsa.GenerateMultiPrimeKey(rand.Reader, nprimes, 2048)
	if err != nil {
		return nil, fmt.Errorf("fastrsa: %w", err)
	}
	return key, nil
}

// Public returns the public key (an *rsa.PublicKey).
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs a SHA-256 digest with PKCS#1 v1.5, as rsa.SignPKCS1v15(nil,
// key, crypto.SHA256, digest) does: opts must be crypto.SHA256 (or options
// whose HashFunc is SHA-256, but not *rsa.PSSOptions). rand is not used:
// the signature is deterministic.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, fmt.Errorf("%w: no hash given", ErrUnsupported)
	}
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, fmt.Errorf("%w: PSS was asked for", ErrUnsupported)
	}
	if h := opts.HashFunc(); h != crypto.SHA256 {
		return nil, fmt.Errorf("%w: hash %v was asked for", ErrUnsupported, h)
	}
	return s.SignSHA256(digest)
}

// SignSHA256 signs a SHA-256 digest with PKCS#1 v1.5.
func (s *Signer) SignSHA256(digest []byte) ([]byte, error) {
	if len(digest) != 32 {
		return nil, fmt.Errorf("%w: %d bytes", ErrDigestSize, len(digest))
	}
	// EM = 0x00 || 0x01 || 0xff… || 0x00 || DigestInfo (RFC 8017 9.2).
	tLen := len(sha256Prefix) + len(digest)
	if s.size < tLen+11 {
		return nil, fmt.Errorf("%w: the modulus is too short for a SHA-256 DigestInfo", ErrKey)
	}
	em := make([]byte, s.size)
	em[1] = 1
	for i := 2; i < s.size-tLen-1; i++ {
		em[i] = 0xff
	}
	copy(em[s.size-tLen:], sha256Prefix)
	copy(em[s.size-len(digest):], digest)
	m := new(big.Int).SetBytes(em)

	// Garner: x ≡ m^d (mod p_i) for every i, 0 <= x < N.
	x := new(big.Int)
	mi, h := new(big.Int), new(big.Int)
	for i, p := range s.primes {
		mi = s.mods[i].exp(mi.Mod(m, p), s.exps[i])
		if i == 0 {
			x.Set(mi)
			continue
		}
		h.Sub(mi, x)
		h.Mul(h, s.coeffs[i])
		h.Mod(h, p) // Mod is Euclidean: 0 <= h < p
		h.Mul(h, s.prods[i])
		x.Add(x, h)
	}

	// A wrong signature (a key whose values disagree, a fault) may leak a
	// factor, and is useless: check it with crypto/rsa's own verification,
	// as crypto/rsa checks its signatures (E is small: about a tenth of the
	// cost of signing).
	if x.Cmp(s.pub.N) >= 0 {
		return nil, ErrCheck
	}
	sig := x.FillBytes(make([]byte, s.size))
	if rsa.VerifyPKCS1v15(s.pub, crypto.SHA256, digest, sig) != nil {
		return nil, ErrCheck
	}
	return sig, nil
}
