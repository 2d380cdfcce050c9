package feed_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
)

func TestDecodeUpdateRefusals(t *testing.T) {
	for name, m := range map[string]*feedpb.FeedUpdate{
		"no chain":  {Height: 1},
		"no height": {ChainId: "c"},
		"no header": {ChainId: "c", Height: 1},
	} {
		b, _ := proto.Marshal(m)
		if _, err := feed.DecodeUpdate(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := feed.DecodeUpdate(make([]byte, feed.MaxUpdateSize+1)); err == nil {
		t.Error("oversized update accepted")
	}
	if feed.Topic("c-1") != "/idledger/c-1/feed/v1" || feed.SyncProtocol("c-1") != "/idledger/c-1/feed-sync/v1" {
		t.Error("topic or protocol ID changed")
	}
}

func FuzzDecodeUpdate(f *testing.F) {
	f.Add([]byte{})
	b, _ := proto.Marshal(&feedpb.FeedUpdate{ChainId: "c", Height: 2, SignedHeader: []byte{0x0a, 0x00, 0x12, 0x00},
		ValidatorSet: []byte{0x0a, 0x00}, Entries: []*feedpb.FeedEntry{{Key: []byte{5}, Value: []byte{1}, Proof: []byte{1}}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := feed.DecodeUpdate(b)
		if err != nil {
			return
		}
		if u.Header == nil || u.Height != u.Header.Height || u.ChainID != u.Header.ChainID {
			t.Fatalf("decoded an inconsistent update: %+v", u)
		}
	})
}

func FuzzDecodeSyncResponse(f *testing.F) {
	f.Add([]byte{})
	b, _ := proto.Marshal(&feedpb.FeedSyncResponse{Latest: 3, Updates: []*feedpb.FeedUpdate{{ChainId: "c", Height: 1}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		ups, _, err := feed.DecodeSyncResponse(b)
		if err != nil {
			return
		}
		for i := 1; i < len(ups); i++ {
			if ups[i].Height != ups[i-1].Height+1 {
				t.Fatal("non-consecutive heights accepted")
			}
		}
	})
}
