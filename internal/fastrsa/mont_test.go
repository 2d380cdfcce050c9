package fastrsa

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"
)

// exp agrees with math/big's Exp on odd moduli of 1 to 17 limbs (and 32),
// the 4-limb ones of mul4 among them, for bases and exponents at the edges
// and at random.
func TestExpIsBigExp(t *testing.T) {
	sizes := []int{64, 65, 128, 193, 255, 256, 257, 2048}
	for b := 2; b <= 1088; b += 61 {
		sizes = append(sizes, b)
	}
	for _, bitsLen := range sizes {
		for range 4 {
			p, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bitsLen)))
			if err != nil {
				t.Fatal(err)
			}
			p.SetBit(p, 0, 1)
			p.SetBit(p, bitsLen-1, 1)
			if p.Cmp(big.NewInt(3)) < 0 {
				p.SetInt64(3)
			}
			md, err := newModulus(p)
			if err != nil {
				t.Fatal(err)
			}
			pm1 := new(big.Int).Sub(p, big.NewInt(1))
			rx, _ := rand.Int(rand.Reader, p)
			re, _ := rand.Int(rand.Reader, new(big.Int).Lsh(p, 1))
			for _, x := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), pm1, rx} {
				for _, e := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), big.NewInt(15), big.NewInt(16), big.NewInt(65537), pm1, re} {
					want := new(big.Int).Exp(x, e, p)
					if got := md.exp(x, e.Bytes()); got.Cmp(want) != 0 {
						t.Fatalf("%v^%v mod %v: got %v, want %v", x, e, p, got, want)
					}
				}
			}
		}
	}
}

func TestNewModulusRefusesEven(t *testing.T) {
	for _, p := range []int64{-3, 0, 1, 2, 10} {
		if _, err := newModulus(big.NewInt(p)); err == nil {
			t.Errorf("modulus %d accepted", p)
		}
	}
}

func FuzzExp(f *testing.F) {
	f.Add([]byte{3}, []byte{2}, []byte{5})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, []byte{1, 0})
	four := bytes.Repeat([]byte{0xff}, 32) // a 4-limb modulus: mul4
	f.Add(four, four[1:], four)
	f.Add(append([]byte{0x80}, make([]byte, 31)...), []byte{7}, []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, pb, xb, eb []byte) {
		p := new(big.Int).SetBytes(pb)
		p.SetBit(p, 0, 1)
		if p.Cmp(big.NewInt(3)) < 0 || len(eb) > 64 {
			return
		}
		x := new(big.Int).Mod(new(big.Int).SetBytes(xb), p)
		md, err := newModulus(p)
		if err != nil {
			t.Fatal(err)
		}
		want := new(big.Int).Exp(x, new(big.Int).SetBytes(eb), p)
		if got := md.exp(x, eb); got.Cmp(want) != 0 {
			t.Fatalf("%v^%x mod %v: got %v, want %v", x, eb, p, got, want)
		}
	})
}

// A 256-bit exponentiation, the unit of an 8-prime signature: this
// package's Montgomery arithmetic and math/big's.
func BenchmarkExp256(b *testing.B) {
	p, _ := rand.Prime(rand.Reader, 256)
	x, _ := rand.Int(rand.Reader, p)
	e, _ := rand.Int(rand.Reader, p)
	md, _ := newModulus(p)
	eb := e.Bytes()
	b.Run("mont", func(b *testing.B) {
		for b.Loop() {
			md.exp(x, eb)
		}
	})
	b.Run("big", func(b *testing.B) {
		z := new(big.Int)
		for b.Loop() {
			z.Exp(x, e, p)
		}
	})
}
