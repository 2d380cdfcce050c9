package signer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/testca"
)

var (
	fixOnce sync.Once
	holder  *testca.Holder
	other   *rsa.PrivateKey
	anchor  *jpki.Anchor
)

// fixture is one in-memory test CA with one holder, built once: RSA key
// generation is slow.
func fixture(t *testing.T) {
	t.Helper()
	fixOnce.Do(func() {
		ca, err := testca.New(testca.InitOptions{})
		if err != nil {
			panic(err)
		}
		if holder, err = ca.Issue(testca.IssueOptions{Name: "alice"}); err != nil {
			panic(err)
		}
		if anchor, err = ca.Anchor(); err != nil {
			panic(err)
		}
		if other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
}

// holderFiles writes the holder's key (PKCS#8) and certificate as PEM files
// in a fresh directory.
func holderFiles(t *testing.T) (keyPath, certPath string) {
	t.Helper()
	dir := t.TempDir()
	keyPath, certPath = filepath.Join(dir, "alice.key"), filepath.Join(dir, "alice.crt")
	writePEM(t, keyPath, "PRIVATE KEY", mustPKCS8(t, holder.Key))
	writePEM(t, certPath, "CERTIFICATE", holder.CertDER)
	return keyPath, certPath
}

func TestSoftRoundTrip(t *testing.T) {
	fixture(t)
	keyPath, certPath := holderFiles(t)
	ctx := context.Background()
	for name, open := range map[string]func() (signer.Signer, error){
		"NewSoft":  func() (signer.Signer, error) { return signer.NewSoft(holder.Key, holder.CertDER) },
		"LoadSoft": func() (signer.Signer, error) { return signer.LoadSoft(keyPath, certPath) },
		"Open":     func() (signer.Signer, error) { return signer.Open("soft:" + keyPath + "," + certPath) },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			der, err := s.Certificate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c, err := jpki.Check(der, jpki.CheckOptions{Anchors: []*jpki.Anchor{anchor}})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.ValidAt(time.Now()); err != nil {
				t.Fatal(err)
			}
			msg := []byte("idledger-testnet/attest/v1 body")
			sig, err := signer.Sign(ctx, s, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := jpki.VerifySignature(c.PublicKey, msg, sig); err != nil {
				t.Fatal(err)
			}
			if err := jpki.VerifySignature(c.PublicKey, []byte("another message"), sig); err == nil {
				t.Fatal("signature verifies for another message")
			}
			der[0] ^= 0xff // Certificate returns a copy
			if again, _ := s.Certificate(ctx); again[0] == der[0] {
				t.Fatal("Certificate shares its buffer")
			}
		})
	}
}

func TestSignDigestInfoRefusals(t *testing.T) {
	fixture(t)
	s, err := signer.NewSoft(holder.Key, holder.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	di := jpki.DigestInfo([]byte("m"))
	for name, in := range map[string][]byte{
		"empty":      nil,
		"raw digest": di[19:],
		"truncated":  di[:50],
		"longer":     append(append([]byte{}, di...), 0),
		"sha1 DigestInfo": append([]byte{0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
			make([]byte, 20)...),
	} {
		if _, err := s.SignDigestInfo(context.Background(), in); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.SignDigestInfo(ctx, di); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestSoftMismatch(t *testing.T) {
	fixture(t)
	keyPath, certPath := holderFiles(t)
	if _, err := signer.NewSoft(other, holder.CertDER); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("NewSoft with another key: %v", err)
	}
	if _, err := signer.NewSoft(nil, holder.CertDER); err == nil {
		t.Fatal("NewSoft without a key")
	}
	if _, err := signer.NewSoft(holder.Key, []byte("junk")); err == nil {
		t.Fatal("NewSoft with a junk certificate")
	}
	dir := t.TempDir()
	otherKey := filepath.Join(dir, "other.key")
	pkcs1 := filepath.Join(dir, "pkcs1.key")
	writePEM(t, otherKey, "PRIVATE KEY", mustPKCS8(t, other))
	writePEM(t, pkcs1, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(holder.Key))
	if _, err := signer.LoadSoft(otherKey, certPath); err == nil {
		t.Fatal("LoadSoft with another key")
	}
	if _, err := signer.LoadSoft(pkcs1, certPath); err != nil {
		t.Fatalf("LoadSoft with a PKCS#1 key: %v", err)
	}
	if _, err := signer.LoadSoft(certPath, certPath); err == nil {
		t.Fatal("LoadSoft with a certificate as key")
	}
	if _, err := signer.LoadSoft(keyPath, keyPath); err == nil {
		t.Fatal("LoadSoft with a key as certificate")
	}
}

func TestOpenErrors(t *testing.T) {
	fixture(t)
	_, certPath := holderFiles(t)
	if _, err := signer.Open("plugin:no-such-plugin"); err == nil || !strings.Contains(err.Error(), "idledger-signer-no-such-plugin not found on PATH") {
		t.Errorf("missing plugin: %v", err)
	}
	for _, spec := range []string{"", "soft", "soft:", "soft:only-key", "soft:,cert", "soft:key,", "plugin:", "pkcs11:x", "gpse"} {
		_, err := signer.Open(spec)
		if err == nil {
			t.Errorf("Open(%q) accepted", spec)
			continue
		}
		if !strings.HasPrefix(err.Error(), "signer: ") {
			t.Errorf("Open(%q): %v lacks the signer: prefix", spec, err)
		}
	}
	if _, err := signer.Open("pkcs11:x"); err == nil || !strings.Contains(err.Error(), "soft:KEYFILE,CERTFILE or plugin:NAME") {
		t.Errorf("unknown form does not list the accepted ones: %v", err)
	}
	if _, err := signer.Open("soft:" + filepath.Join(t.TempDir(), "missing.key") + "," + certPath); err == nil {
		t.Error("missing key file accepted")
	}
}

func mustPKCS8(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
