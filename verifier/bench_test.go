package verifier_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/verifier"
)

var (
	benchOnce    sync.Once
	benchTrusted *verifier.LightState
	benchUpdate  *feed.Update
)

// benchData builds, once per process, a real update that carries an
// attestation and the state it follows, from a node started for it.
func benchData(b *testing.B) (*verifier.LightState, *feed.Update) {
	benchOnce.Do(func() {
		w := start(b)
		alice, id := w.attest(b, "alice", "kyc")
		key := chain.ClaimKey(subjectOf(alice), "kyc")
		h := int64(binary.BigEndian.Uint64(id)) + 1 // the update after the attestation's block
		nodetest.WaitHeight(context.Background(), b, w.e.URL, h)
		prev, cur := build(b, w, h-1), build(b, w, h)
		if !slices.ContainsFunc(cur.Entries, func(e *feedpb.FeedEntry) bool { return bytes.Equal(e.Key, key) }) {
			b.Fatalf("update %d lacks the attestation", h)
		}
		benchTrusted, benchUpdate = &verifier.LightState{Header: prev.Header, Validators: prev.Validators}, cur
	})
	return benchTrusted, benchUpdate
}

// BenchmarkVerifyUpdate verifies one block's update (one validator, the
// anchor set and one ClaimStatus entry): light.VerifyAdjacent and the ICS23
// proofs.
func BenchmarkVerifyUpdate(b *testing.B) {
	trusted, u := benchData(b)
	if u == nil {
		b.Skip("no update (setup failed)")
	}
	p := verifier.DefaultParams()
	now := u.Header.Time.Add(time.Second)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := verifier.VerifyUpdate(trusted, u, p, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheck is the offline lookup of a gate: one record among 10000
// in a store on disk.
func BenchmarkCheck(b *testing.B) {
	_, u := benchData(b)
	if u == nil {
		b.Skip("no update (setup failed)")
	}
	dir := b.TempDir()
	s, err := verifier.OpenStore(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var claims []*feedpb.StoredClaim
	var key []byte
	for _, e := range u.Entries {
		if e.Key[0] == chain.ClaimKey(nil, "")[0] {
			key = e.Key
		}
	}
	claims = append(claims, &feedpb.StoredClaim{Key: key, Value: u.Entries[len(u.Entries)-1].Value, Height: u.Height - 1})
	for i := range 10000 {
		claims = append(claims, &feedpb.StoredClaim{Key: chain.ClaimKey(bytes.Repeat([]byte{byte(i)}, 32), fmt.Sprintf("t%d", i)), Value: nil, Height: 1})
	}
	if err := s.Save(&verifier.LightState{Header: u.Header, Validators: u.Validators}, claims, 1, nil, time.Now().Unix()); err != nil {
		b.Fatal(err)
	}
	subject, claimType := key[1:33], string(key[33:])
	now := u.Header.Time.Add(time.Minute)
	b.ResetTimer()
	for b.Loop() {
		a, err := verifier.Check(s, subject, claimType, now)
		if err != nil || a.State != chain.StateValid {
			b.Fatal(a, err)
		}
	}
}
