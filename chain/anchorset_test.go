package chain_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/jpki"
)

func TestDecodeAnchorSet(t *testing.T) {
	w := world(t)
	enc := func(certs ...[]byte) []byte {
		set := new(chainpb.AnchorSet)
		for _, c := range certs {
			set.Anchors = append(set.Anchors, &chainpb.TrustAnchor{Certificate: c})
		}
		b, err := proto.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	got, err := chain.DecodeAnchorSet(enc(w.AuthCA.CertDER, w.SignCA.CertDER))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0].Raw, w.AuthCA.CertDER) || got[0].Kind != jpki.KindAuth ||
		!bytes.Equal(got[1].Raw, w.SignCA.CertDER) || got[1].Kind != jpki.KindSign {
		t.Fatalf("decoded %+v, want the auth CA then the signing CA", got)
	}
	if got, err := chain.DecodeAnchorSet(nil); err != nil || len(got) != 0 {
		t.Errorf("empty value: %v, %v; want an empty set", got, err)
	}
	for name, v := range map[string][]byte{
		"not a set":         {0xff, 0xff, 0xff},
		"not a CA":          enc(w.AuthCA.CertDER, w.Holders[fixture.Alice].CertDER),
		"not a certificate": enc([]byte("junk")),
	} {
		if _, err := chain.DecodeAnchorSet(v); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeAnchorSet: never a panic; what decodes re-encodes to anchors
// that parse.
func FuzzDecodeAnchorSet(f *testing.F) {
	w := world(f)
	b, err := proto.Marshal(&chainpb.AnchorSet{Anchors: []*chainpb.TrustAnchor{{Certificate: w.AuthCA.CertDER, Kind: "auth"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, v []byte) {
		as, err := chain.DecodeAnchorSet(v)
		if err != nil {
			return
		}
		for _, a := range as {
			if _, err := jpki.ParseAnchor(a.Raw); err != nil {
				t.Fatalf("a decoded anchor does not parse again: %v", err)
			}
		}
	})
}
