package feed_test

import (
	"errors"
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

// A sync answer that breaks the protocol is an ErrBadAnswer (which counts
// against the peer); a peer saying it cannot answer is not.
func TestDecodeSyncResponseBadAnswers(t *testing.T) {
	junk := []byte{0xff, 0xff, 0xff}
	if _, _, err := feed.DecodeSyncResponse(junk); !errors.Is(err, feed.ErrBadAnswer) {
		t.Errorf("junk: %v", err)
	}
	many := &feedpb.FeedSyncResponse{}
	for i := 0; i <= feed.MaxSyncUpdates; i++ {
		many.Updates = append(many.Updates, &feedpb.FeedUpdate{ChainId: "c", Height: int64(i + 1)})
	}
	b, _ := proto.Marshal(many)
	if _, _, err := feed.DecodeSyncResponse(b); !errors.Is(err, feed.ErrBadAnswer) {
		t.Errorf("too many updates: %v", err)
	}
	b, _ = proto.Marshal(&feedpb.FeedSyncResponse{Updates: []*feedpb.FeedUpdate{{ChainId: "c", Height: 1}}})
	if _, _, err := feed.DecodeSyncResponse(b); !errors.Is(err, feed.ErrBadAnswer) {
		t.Errorf("malformed update: %v", err)
	}
	b, _ = proto.Marshal(&feedpb.FeedSyncResponse{Error: "busy", Latest: 9})
	if _, latest, err := feed.DecodeSyncResponse(b); err == nil || errors.Is(err, feed.ErrBadAnswer) || latest != 9 {
		t.Errorf("a refusal: %v, latest %d", err, latest)
	}
}
