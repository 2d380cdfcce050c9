package verifier_test

import (
	"bytes"
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cometbft/cometbft/libs/log"

	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/testca"
)

func chainCommitment(h *testca.Holder) [32]byte {
	return jpki.Commitment(h.Cert.RawIssuer, h.Cert.SerialNumber)
}

// build builds the update of height from the node, as a sync answer's
// first one (with validators and anchors).
func build(t testing.TB, w *world, height int64) *feed.Update {
	t.Helper()
	m, err := feed.NewBuilder(w.rpc, w.e.ChainID).Build(context.Background(), height, true)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := feed.EncodeUpdate(m)
	if err != nil {
		t.Fatal(err)
	}
	u, err := feed.DecodeUpdate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func toProto(t *testing.T, u *feed.Update) *feedpb.FeedUpdate {
	t.Helper()
	m := new(feedpb.FeedUpdate)
	if err := proto.Unmarshal(u.Raw, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// relabel returns a copy of real re-labelled as the update of height: its
// header and commit say height (and the commit names the new header), so
// it decodes but its commit does not verify. edit, when set, changes the
// copy before it is encoded.
func relabel(t *testing.T, real *feedpb.FeedUpdate, height int64, edit func(*feedpb.FeedUpdate)) []byte {
	t.Helper()
	m := proto.Clone(real).(*feedpb.FeedUpdate)
	sh, err := feed.DecodeSignedHeader(m.SignedHeader)
	if err != nil {
		t.Fatal(err)
	}
	sh.Header.Height, sh.Commit.Height = height, height
	sh.Commit.BlockID.Hash = sh.Header.Hash()
	m.Height = height
	if m.SignedHeader, err = feed.EncodeSignedHeader(sh); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	raw, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.DecodeUpdate(raw); err != nil {
		t.Fatalf("forgery does not decode: %v", err)
	}
	return raw
}

// dropEntry removes the entry of key *drop from u (nothing when drop is
// nil): what a peer withholding a change sends.
func dropEntry(u *feedpb.FeedUpdate, drop *[]byte) {
	if drop == nil {
		return
	}
	kept := u.Entries[:0]
	for _, e := range u.Entries {
		if !bytes.Equal(e.Key, *drop) {
			kept = append(kept, e)
		}
	}
	u.Entries = kept
}

var testLogger log.Logger = log.NewNopLogger()
