package memberkey_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idledger/idledger/memberkey"
)

func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "member_key.pem")
	if err := memberkey.Write(path, testKey()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := memberkey.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(testKey()) {
		t.Error("read back a different key")
	}
	if err := memberkey.Write(path, testKey()); err == nil {
		t.Error("Write overwrote an existing key file")
	}
	if _, err := memberkey.Read(filepath.Join(t.TempDir(), "none.pem")); err == nil || !strings.HasPrefix(err.Error(), "memberkey: ") {
		t.Errorf("reading a missing file: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	good, err := memberkey.Marshal(testKey())
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), bytes.NewReader(bytes.Repeat([]byte{1}, 512)))
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"empty":         {nil, "no PEM block"},
		"other type":    {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1}}), `"RSA PRIVATE KEY", want PRIVATE KEY`},
		"trailing data": {append(append([]byte(nil), good...), "junk"...), "unexpected data"},
		"not PKCS#8":    {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), "memberkey: "},
		"not ed25519":   {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), "want ed25519"},
	} {
		_, err := memberkey.Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "memberkey: ") {
			t.Errorf("%s: err = %v, want one containing %q", name, err, tc.want)
		}
	}
	if _, err := memberkey.Parse(append(append([]byte(nil), good...), "\n\n"...)); err != nil {
		t.Errorf("trailing space refused: %v", err)
	}
}

// FuzzParse: any bytes parse to a key that marshals back to the same PEM
// block, or are refused; never a panic.
func FuzzParse(f *testing.F) {
	good, err := memberkey.Marshal(testKey())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := memberkey.Parse(in)
		if err != nil {
			return
		}
		if len(k) != ed25519.PrivateKeySize {
			t.Fatalf("key of %d bytes", len(k))
		}
		if _, err := memberkey.Marshal(k); err != nil {
			t.Fatalf("a parsed key does not marshal: %v", err)
		}
	})
}
