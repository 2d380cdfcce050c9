package privacy_test

import (
	"testing"

	"github.com/idledger/idledger/privacy"
)

func TestValidMyNumber(t *testing.T) {
	for d, want := range map[string]bool{
		"123456789018": true, // the sample number published with the check-digit rule
		"123456789019": false,
		"000000000000": true, // check digit 0 (remainder 0)
		"12345678901":  false,
		"12345678901a": false,
	} {
		if got := privacy.ValidMyNumber(d); got != want {
			t.Errorf("ValidMyNumber(%q) = %v, want %v", d, got, want)
		}
	}
}

func TestFindMyNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"123456789018":                  true,
		"KYC done for 1234 5678 9018.":  true,
		"ticket-1234-5678-9018":         true,
		"ref:123456789018;":             true,
		"1234567890180":                 false, // 13 digits: not a My Number
		"0123456789018":                 false,
		"123456789019":                  false, // wrong check digit
		"kyc":                           false,
		"12345678901 8":                 false,
		"9 123456789018":                true,
		"123456789019 and 123456789018": true,
	} {
		if _, got := privacy.FindMyNumber([]byte(s)); got != want {
			t.Errorf("FindMyNumber(%q) = %v, want %v", s, got, want)
		}
	}
	if d, _ := privacy.FindMyNumber([]byte("x 1234-5678-9018")); d != "123456789018" || privacy.Mask(d) != "********9018" {
		t.Errorf("found %q, masked %q", d, privacy.Mask(d))
	}
}

func FuzzFindMyNumber(f *testing.F) {
	f.Add([]byte("KYC done for 1234 5678 9018."))
	f.Add([]byte("1234567890180"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, ok := privacy.FindMyNumber(b); ok && !privacy.ValidMyNumber(d) {
			t.Fatalf("found %q, which is not a valid My Number", d)
		}
	})
}
