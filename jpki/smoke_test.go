package jpki_test

import "testing"

func TestSmoke(t *testing.T) {
	f := getFixture(t)
	t.Logf("%x", f.good.CertDER[:10])
}
