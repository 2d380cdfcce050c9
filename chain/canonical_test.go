package chain_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// reencoded is raw with a first, discarded copy of the envelope's body
// field carrying junk: protobuf keeps the last, so it decodes to the same
// signed transaction.
func reencoded(raw, junk []byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, junk)
	return append(b, raw...)
}

// TestCheckCanonical: anyone who sees a transaction can re-encode it into
// other bytes that decode to the same signed transaction, carrying unsigned
// junk of their choice (here a twelve-digit number, as a My Number would
// be); CheckCanonical refuses every encoding but EncodeTx's.
func TestCheckCanonical(t *testing.T) {
	w := world(t)
	raw, err := w.AttestTx(fixture.Attest{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := chain.DecodeTx(raw, fixture.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	if err := chain.CheckCanonical(tx); err != nil {
		t.Fatalf("EncodeTx's own encoding: %v", err)
	}
	dup, err := chain.DecodeTx(reencoded(raw, []byte("123456789018")), fixture.ChainID)
	if err != nil {
		t.Fatalf("the re-encoded copy does not decode (then there is nothing to refuse): %v", err)
	}
	if dup.Hash == tx.Hash || !bytes.Equal(dup.SignBytes, tx.SignBytes) {
		t.Fatal("the re-encoded copy is not the same signed transaction under another hash")
	}
	if err := chain.CheckCanonical(dup); chain.CodeOf(err) != chain.CodeMalformedTx {
		t.Fatalf("the re-encoded copy: %v, want code %d", err, chain.CodeMalformedTx)
	}
}

// FuzzCheckCanonical: never a panic; a transaction it accepts encodes back
// to exactly its bytes.
func FuzzCheckCanonical(f *testing.F) {
	w := world(f)
	raw, err := w.AttestTx(fixture.Attest{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(reencoded(raw, []byte("junk")))
	f.Add(append(append([]byte(nil), raw...), raw[:2]...))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := chain.DecodeTx(raw, fixture.ChainID)
		if err != nil || chain.CheckCanonical(tx) != nil {
			return
		}
		// Its three fields, and nothing else, make its bytes.
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(&chainpb.Tx{
			Body: tx.Env.Body, MemberSignature: tx.Env.MemberSignature, SubjectSignature: tx.Env.SubjectSignature})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, raw) {
			t.Fatalf("accepted %x, whose fields encode as %x", raw, again)
		}
	})
}
