package feed_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
)

func TestChangedClaimKeys(t *testing.T) {
	s1, s2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	ev := func(typ string, kv ...string) abci.Event {
		e := abci.Event{Type: typ}
		for i := 0; i < len(kv); i += 2 {
			e.Attributes = append(e.Attributes, abci.EventAttribute{Key: kv[i], Value: kv[i+1]})
		}
		return e
	}
	got := feed.ChangedClaimKeys([]abci.Event{
		ev("attest", "id", "00", "subject", hex.EncodeToString(s2), "claim_type", "kyc"),
		ev("revoke_attestation", "subject", hex.EncodeToString(s1), "claim_type", "kyc"),
		ev("some_future_event", "claim_type", "gym", "subject", hex.EncodeToString(s1)),
		ev("attest", "subject", hex.EncodeToString(s2), "claim_type", "kyc"), // duplicate
		ev("revoke_subjects", "revoked", "3"),                                // names no claim
		ev("attest", "subject", "zz", "claim_type", "kyc"),                   // not a commitment
		ev("attest", "subject", hex.EncodeToString(s1), "claim_type", "Bad Type"),
	})
	want := [][]byte{chain.ClaimKey(s1, "gym"), chain.ClaimKey(s1, "kyc"), chain.ClaimKey(s2, "kyc")}
	if len(got) != len(want) {
		t.Fatalf("keys = %x, want %x", got, want)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("key %d = %x, want %x", i, got[i], want[i])
		}
	}
}

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
