package chain

import (
	"crypto/ed25519"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain/chainpb"
)

// EncodeBody encodes a transaction body deterministically. The bytes it
// returns are what gets signed and carried: nobody re-encodes them later.
func EncodeBody(body *chainpb.TxBody) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("chain: encode body: %w", err)
	}
	return b, nil
}

// EncodeTx assembles a transaction from its body bytes and signatures. The
// member signature is made here when memberKey is given; the subject's JPKI
// signature over SignBytes(body) is made by a signer beforehand.
func EncodeTx(body []byte, memberKey ed25519.PrivateKey, subjectSig []byte) ([]byte, error) {
	env := &chainpb.Tx{Body: body, SubjectSignature: subjectSig}
	if memberKey != nil {
		env.MemberSignature = ed25519.Sign(memberKey, SignBytes(body))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("chain: encode tx: %w", err)
	}
	return b, nil
}

// marshal encodes a state value deterministically. State values are this
// package's own messages, so a failure is a bug.
func marshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("chain: encode %T: %v", m, err))
	}
	return b
}

// unmarshal decodes a state value written by this package; a failure means
// the state is corrupt.
func unmarshal(b []byte, m proto.Message) {
	if err := proto.Unmarshal(b, m); err != nil {
		panic(fmt.Sprintf("chain: state value %T does not decode: %v", m, err))
	}
}
