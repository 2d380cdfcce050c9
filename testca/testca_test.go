package testca_test

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/testca"
)

var now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

var (
	keysOnce sync.Once
	keys     [3]*rsa.PrivateKey
)

// testKeys are generated once per test binary: RSA key generation is slow.
func testKeys(t *testing.T) [3]*rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err)
				}
				keys[i] = k
			})
		}
		wg.Wait()
	})
	return keys
}

func TestInitLoadIssue(t *testing.T) {
	k := testKeys(t)
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := testca.Init(dir, testca.InitOptions{Now: now, Key: k[0]})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, testca.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v %v", fi.Mode(), err)
	}
	if _, err := testca.Init(dir, testca.InitOptions{Now: now, Key: k[0]}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second Init: %v", err)
	}

	// The CA mirrors the J-LIS root and says TEST.
	c := ca.Cert
	if !c.IsCA || c.KeyUsage != 0x60 /* keyCertSign|cRLSign */ || c.PublicKey.(*rsa.PublicKey).N.BitLen() != 2048 {
		t.Errorf("CA: IsCA %v, key usage %v", c.IsCA, c.KeyUsage)
	}
	if !strings.Contains(c.Subject.String(), "TEST") || c.Subject.Country[0] != "JP" {
		t.Errorf("CA subject %q", c.Subject)
	}
	if got := c.NotAfter.Sub(now); got != testca.CAValidity {
		t.Errorf("CA validity from now: %v", got)
	}
	a, err := ca.Anchor()
	if err != nil || a.Kind != jpki.KindAuth || !a.Test || ca.Kind() != jpki.KindAuth {
		t.Fatalf("Anchor = %+v, %v", a, err)
	}

	h, err := ca.Issue(testca.IssueOptions{Name: "alice", Now: now, Key: k[1]})
	if err != nil {
		t.Fatal(err)
	}
	if h.CertPath != filepath.Join(dir, "holders", "alice.crt") || h.KeyPath != filepath.Join(dir, "holders", "alice.key") {
		t.Errorf("paths %q %q", h.CertPath, h.KeyPath)
	}
	if fi, err := os.Stat(h.KeyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("holder key: %v", err)
	}
	if _, err := ca.Issue(testca.IssueOptions{Name: "alice", Now: now, Key: k[1]}); err == nil {
		t.Fatal("issued a holder twice")
	}
	cc, err := jpki.Check(h.CertDER, jpki.CheckOptions{Anchors: []*jpki.Anchor{a}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.ValidAt(now); err != nil {
		t.Fatal(err)
	}
	if cc.Kind != jpki.KindAuth || h.Cert.Subject.CommonName != "alice" || h.Cert.SerialNumber.Sign() <= 0 || len(h.Cert.SerialNumber.Bytes()) != 8 {
		t.Errorf("holder: kind %v, CN %q, serial %x", cc.Kind, h.Cert.Subject.CommonName, h.Cert.SerialNumber)
	}
	if !h.Cert.NotBefore.Equal(now.Add(-time.Hour)) || !h.Cert.NotAfter.Equal(now.Add(testca.HolderValidity)) {
		t.Errorf("holder validity %v..%v", h.Cert.NotBefore, h.Cert.NotAfter)
	}
	if len(h.Cert.AuthorityKeyId) == 0 || len(h.Cert.SubjectKeyId) == 0 || h.Cert.KeyUsage != 1 /* digitalSignature */ {
		t.Errorf("holder AKI %x SKI %x KU %v", h.Cert.AuthorityKeyId, h.Cert.SubjectKeyId, h.Cert.KeyUsage)
	}

	// Load sees the same CA and remembers issued serials.
	ca2, err := testca.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(ca2.CertDER) != string(ca.CertDER) || !ca2.Key.Equal(ca.Key) || ca2.Dir != dir {
		t.Fatal("Load returned another CA")
	}
	if _, err := ca2.Issue(testca.IssueOptions{Name: "alice", Now: now, Key: k[1]}); err == nil {
		t.Fatal("reloaded CA issued a holder twice")
	}
	h2, err := ca2.Issue(testca.IssueOptions{Name: "bob", Now: now, Key: k[2]})
	if err != nil {
		t.Fatal(err)
	}
	if h2.Cert.SerialNumber.Cmp(h.Cert.SerialNumber) == 0 {
		t.Fatal("serial reused")
	}
	idx, err := os.ReadFile(filepath.Join(dir, testca.IndexFile))
	if err != nil || !strings.Contains(string(idx), h.Cert.SerialNumber.Text(16)) || !strings.Contains(string(idx), h2.Cert.SerialNumber.Text(16)) {
		t.Fatalf("index.json lacks serials: %s %v", idx, err)
	}

	lh, err := testca.LoadHolder(dir, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if string(lh.CertDER) != string(h.CertDER) || !lh.Key.Equal(h.Key) {
		t.Fatal("LoadHolder returned another holder")
	}
	if _, err := testca.LoadHolder(dir, "nobody"); err == nil {
		t.Fatal("LoadHolder of a missing holder")
	}
}

func TestIssueProfiles(t *testing.T) {
	k := testKeys(t)
	signCA, err := testca.New(testca.InitOptions{Now: now, Key: k[0], Kind: jpki.KindSign})
	if err != nil {
		t.Fatal(err)
	}
	a, err := signCA.Anchor()
	if err != nil || a.Kind != jpki.KindSign || !a.Test {
		t.Fatalf("sign CA anchor %+v, %v", a, err)
	}
	h, err := signCA.Issue(testca.IssueOptions{Name: "carol", Now: now, Key: k[1], Profile: jpki.KindSign})
	if err != nil {
		t.Fatal(err)
	}
	if h.CertPath != "" || jpki.Classify(h.Cert) != jpki.KindSign || h.Cert.KeyUsage != 3 /* digitalSignature|nonRepudiation */ {
		t.Errorf("signing holder: path %q, class %v, KU %v", h.CertPath, jpki.Classify(h.Cert), h.Cert.KeyUsage)
	}
	if _, err := jpki.Check(h.CertDER, jpki.CheckOptions{Anchors: []*jpki.Anchor{a}, AllowSigning: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := jpki.Check(h.CertDER, jpki.CheckOptions{Anchors: []*jpki.Anchor{a}}); err == nil {
		t.Fatal("signing certificate accepted without AllowSigning")
	}
}

func TestIssueRefusals(t *testing.T) {
	k := testKeys(t)
	ca, err := testca.New(testca.InitOptions{Now: now, Key: k[0]})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "../x", "a/b", ".hidden", strings.Repeat("x", 65), "名前"} {
		if _, err := ca.Issue(testca.IssueOptions{Name: name, Key: k[1]}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := ca.Issue(testca.IssueOptions{Name: "x", Key: k[1], NotBefore: now, NotAfter: now.Add(-time.Second)}); err == nil {
		t.Error("NotAfter before NotBefore accepted")
	}
	if _, err := testca.Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory")
	}
}
