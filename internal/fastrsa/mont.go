package fastrsa

import (
	"errors"
	"math/big"
	"math/bits"
)

// modulus does modular exponentiation with Montgomery multiplication on
// 64-bit limbs, for the primes of a key. math/big spends most of a 256-bit
// exponentiation on the overhead around its word loops; this is the same
// arithmetic (CIOS Montgomery multiplication, a fixed 4-bit window) without
// allocations or calls in the inner loop. Not constant-time.
type modulus struct {
	m   []uint64 // the odd modulus, little-endian limbs
	m0i uint64   // -m^-1 mod 2^64
	rr  []uint64 // R² mod m, R = 2^(64·len(m))
	one []uint64 // R mod m: 1 in Montgomery form
}

var errEvenModulus = errors.New("fastrsa: the modulus is even or below 3")

func newModulus(p *big.Int) (*modulus, error) {
	if p.Sign() <= 0 || p.Bit(0) == 0 || p.BitLen() < 2 {
		return nil, errEvenModulus
	}
	n := (p.BitLen() + 63) / 64
	md := &modulus{m: toLimbs(p, n)}
	// Newton's iteration for m[0]^-1 mod 2^64: m0 is its own inverse mod 8,
	// and each step doubles the correct bits (3, 6, 12, 24, 48, 96).
	m0, inv := md.m[0], md.m[0]
	for range 5 {
		inv *= 2 - m0*inv
	}
	md.m0i = -inv
	r := new(big.Int).Lsh(big.NewInt(1), uint(64*n))
	md.one = toLimbs(new(big.Int).Mod(r, p), n)
	md.rr = toLimbs(new(big.Int).Mod(new(big.Int).Mul(r, r), p), n)
	return md, nil
}

// toLimbs is x (0 <= x < 2^(64n)) as n little-endian 64-bit limbs.
func toLimbs(x *big.Int, n int) []uint64 {
	b := x.FillBytes(make([]byte, 8*n))
	z := make([]uint64, n)
	for i := range z {
		off := len(b) - 8*(i+1)
		z[i] = uint64(b[off])<<56 | uint64(b[off+1])<<48 | uint64(b[off+2])<<40 | uint64(b[off+3])<<32 |
			uint64(b[off+4])<<24 | uint64(b[off+5])<<16 | uint64(b[off+6])<<8 | uint64(b[off+7])
	}
	return z
}

// fromLimbs is the number the little-endian limbs x stand for.
func fromLimbs(x []uint64) *big.Int {
	b := make([]byte, 8*len(x))
	for i, w := range x {
		off := len(b) - 8*(i+1)
		for k := range 8 {
			b[off+k] = byte(w >> (56 - 8*k))
		}
	}
	return new(big.Int).SetBytes(b)
}

// mac returns x·y + c + d as two limbs (it cannot overflow).
func mac(x, y, c, d uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(x, y)
	var cc uint64
	lo, cc = bits.Add64(lo, c, 0)
	hi += cc
	lo, cc = bits.Add64(lo, d, 0)
	return hi + cc, lo
}

// mul sets z = x·y·R^-1 mod m, for x, y < m: the multiplication and the
// reduction interleaved in one pass per limb of y (Koç's FIOS). t is
// scratch of len(m)+1 limbs; z may alias x or y.
func (md *modulus) mul(z, x, y, t []uint64) {
	m := md.m
	n := len(m)
	if n == 4 {
		md.mul4((*[4]uint64)(z), (*[4]uint64)(x), (*[4]uint64)(y))
		return
	}
	x, y, z, t = x[:n], y[:n], z[:n], t[:n+1]
	clear(t)
	for _, yi := range y {
		// t = (t + x·yi + u·m) / 2^64, with u making the low limb zero;
		// c1 carries the x·yi row, c2 the u·m row.
		c1, lo := mac(x[0], yi, t[0], 0)
		u := lo * md.m0i
		c2, _ := mac(m[0], u, lo, 0)
		for j := 1; j < n; j++ {
			c1, lo = mac(x[j], yi, t[j], c1)
			c2, t[j-1] = mac(m[j], u, lo, c2)
		}
		top, cc := bits.Add64(t[n], c1, 0)
		top, cc2 := bits.Add64(top, c2, 0)
		t[n-1], t[n] = top, cc+cc2
	}
	// t < 2m: subtract m once if t >= m.
	var b uint64
	for j := range z {
		z[j], b = bits.Sub64(t[j], m[j], b)
	}
	if b > t[n] { // t < m: keep t
		copy(z, t[:n])
	}
}

// mul4 is mul for a 4-limb modulus (the 256-bit primes of an 8-prime
// 2048-bit key) with every limb in a local variable: the same steps as mul's
// loop, written out.
func (md *modulus) mul4(z, x, y *[4]uint64) {
	m0, m1, m2, m3 := md.m[0], md.m[1], md.m[2], md.m[3]
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	var t0, t1, t2, t3, t4, c1, c2, lo, u uint64
	for _, yi := range y {
		c1, lo = mac(x0, yi, t0, 0)
		u = lo * md.m0i
		c2, _ = mac(m0, u, lo, 0)
		c1, lo = mac(x1, yi, t1, c1)
		c2, t0 = mac(m1, u, lo, c2)
		c1, lo = mac(x2, yi, t2, c1)
		c2, t1 = mac(m2, u, lo, c2)
		c1, lo = mac(x3, yi, t3, c1)
		c2, t2 = mac(m3, u, lo, c2)
		top, cc := bits.Add64(t4, c1, 0)
		top, cc2 := bits.Add64(top, c2, 0)
		t3, t4 = top, cc+cc2
	}
	var d0, d1, d2, d3, b uint64
	d0, b = bits.Sub64(t0, m0, 0)
	d1, b = bits.Sub64(t1, m1, b)
	d2, b = bits.Sub64(t2, m2, b)
	d3, b = bits.Sub64(t3, m3, b)
	if b > t4 { // t < m: keep t
		d0, d1, d2, d3 = t0, t1, t2, t3
	}
	z[0], z[1], z[2], z[3] = d0, d1, d2, d3
}

// exp returns x^e mod m for 0 <= x < m; e is big-endian bytes.
func (md *modulus) exp(x *big.Int, e []byte) *big.Int {
	n := len(md.m)
	t := make([]uint64, n+1)
	// table[k] = x^k in Montgomery form, k < 16.
	var table [16][]uint64
	buf := make([]uint64, 17*n)
	for k := range table {
		table[k] = buf[k*n : (k+1)*n]
	}
	acc := buf[16*n:]
	copy(table[0], md.one)
	md.mul(table[1], toLimbs(x, n), md.rr, t)
	for k := 2; k < 16; k++ {
		md.mul(table[k], table[k-1], table[1], t)
	}
	copy(acc, md.one)
	started := false
	for _, by := range e {
		for _, nib := range [2]byte{by >> 4, by & 15} {
			if started {
				for range 4 {
					md.mul(acc, acc, acc, t)
				}
			}
			if nib != 0 {
				md.mul(acc, acc, table[nib], t)
				started = true
			}
		}
	}
	// Out of Montgomery form: acc·1·R^-1.
	unit := make([]uint64, n)
	unit[0] = 1
	md.mul(acc, acc, unit, t)
	return fromLimbs(acc)
}
