package verifier_test

import (
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

var testLogger log.Logger = log.NewNopLogger()
