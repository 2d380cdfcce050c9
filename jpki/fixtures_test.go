package jpki_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/testca"
)

// now is the pinned time of every test.
var now = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// fixture holds the certificates the tests share. RSA key generation is slow,
// so it is built once per test binary.
type fixture struct {
	authCA, signCA, otherCA, twinCA *testca.CA
	authAnchor, signAnchor          *jpki.Anchor
	twinAnchor                      *jpki.Anchor // same subject as authAnchor, other key
	anchors                         []*jpki.Anchor

	holderKey *rsa.PrivateKey

	good, expired, future, signing, signingByAuthCA *testca.Holder
	weak, sha1, wrongKind, unknownIssuer, byTwin    *testca.Holder
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// twinReader reads four zero bytes, then crypto/rand: testca.New reads its
// name tag first, so two CAs made with it have the same subject.
type twinReader struct{ n int }

func (r *twinReader) Read(p []byte) (int, error) {
	if r.n >= 4 {
		return rand.Read(p)
	}
	k := min(len(p), 4-r.n)
	clear(p[:k])
	r.n += k
	return k, nil
}

func getFixture(tb testing.TB) *fixture {
	tb.Helper()
	fixOnce.Do(func() { fixErr = buildFixture() })
	if fixErr != nil {
		tb.Fatalf("building fixture: %v", fixErr)
	}
	return &fix
}

func buildFixture() error {
	bits := []int{2048, 2048, 2048, 2048, 2048, 1024}
	keys := make([]*rsa.PrivateKey, len(bits))
	errs := make([]error, len(bits))
	var wg sync.WaitGroup
	for i, b := range bits {
		wg.Go(func() { keys[i], errs[i] = rsa.GenerateKey(rand.Reader, b) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	f := &fix
	caNow := now.AddDate(-3, 0, 0)
	var err error
	if f.authCA, err = testca.New(testca.InitOptions{Now: caNow, Key: keys[0], Rand: &twinReader{}}); err != nil {
		return err
	}
	if f.signCA, err = testca.New(testca.InitOptions{Now: caNow, Key: keys[1], Kind: jpki.KindSign}); err != nil {
		return err
	}
	if f.otherCA, err = testca.New(testca.InitOptions{Now: caNow, Key: keys[2]}); err != nil {
		return err
	}
	if f.twinCA, err = testca.New(testca.InitOptions{Now: caNow, Key: keys[3], Rand: &twinReader{}}); err != nil {
		return err
	}
	if !bytes.Equal(f.authCA.Cert.RawSubject, f.twinCA.Cert.RawSubject) {
		panic("twin CA has another subject")
	}
	f.holderKey = keys[4]
	if f.authAnchor, err = f.authCA.Anchor(); err != nil {
		return err
	}
	if f.signAnchor, err = f.signCA.Anchor(); err != nil {
		return err
	}
	if f.twinAnchor, err = f.twinCA.Anchor(); err != nil {
		return err
	}
	f.anchors = []*jpki.Anchor{f.authAnchor, f.signAnchor}

	issue := func(ca *testca.CA, o testca.IssueOptions) *testca.Holder {
		if err != nil {
			return nil
		}
		if o.Now.IsZero() {
			o.Now = now.AddDate(-1, 0, 0)
		}
		if o.Key == nil {
			o.Key = f.holderKey
		}
		var h *testca.Holder
		h, err = ca.Issue(o)
		return h
	}
	f.good = issue(f.authCA, testca.IssueOptions{Name: "good"})
	f.expired = issue(f.authCA, testca.IssueOptions{Name: "expired",
		NotBefore: time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)})
	f.future = issue(f.authCA, testca.IssueOptions{Name: "future",
		NotBefore: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2031, 4, 1, 0, 0, 0, 0, time.UTC)})
	f.signing = issue(f.signCA, testca.IssueOptions{Name: "signing", Profile: jpki.KindSign})
	f.signingByAuthCA = issue(f.authCA, testca.IssueOptions{Name: "signing-by-auth", Profile: jpki.KindSign})
	f.weak = issue(f.authCA, testca.IssueOptions{Name: "weak", Key: keys[5]})
	f.sha1 = issue(f.authCA, testca.IssueOptions{Name: "sha1", SHA1: true})
	f.wrongKind = issue(f.signCA, testca.IssueOptions{Name: "wrong-kind"})
	f.unknownIssuer = issue(f.otherCA, testca.IssueOptions{Name: "unknown-issuer"})
	f.byTwin = issue(f.twinCA, testca.IssueOptions{Name: "by-twin"})
	return err
}
