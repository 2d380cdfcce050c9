package chain_test

import (
	"crypto/sha256"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// TestSmallOrderMemberKeyRefused: a member key of small order (here the
// identity point) verifies, under the standard library's cofactorless rule
// that the chain keeps, the signature R = identity, S = 0 over any message:
// anyone could sign for that member. Genesis and add_member refuse such a
// key (ValidateMember), as they refuse one that is not a point at all.
// (The first half shows what such a member would allow, on a state that
// holds one anyway.)
func TestSmallOrderMemberKeyRefused(t *testing.T) {
	weak := make([]byte, 32)
	weak[0] = 1 // the identity point
	m := &chainpb.Member{Id: "weak", PubKey: weak, Roles: []string{chain.RoleRevoker}}

	// What that key lets anyone do today: revoke subjects as "weak".
	w := world(t)
	st := newState(t, w, func(g *chain.Genesis) { g.Members = append(g.Members, m) })
	s := sha256.Sum256([]byte("someone"))
	body, err := chain.EncodeBody(&chainpb.TxBody{ChainId: fixture.ChainID, Signer: "weak", Sequence: 0,
		Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{Commitments: [][]byte{s[:]}, Reason: "forged", EffectiveTime: env.Time}}})
	if err != nil {
		t.Fatal(err)
	}
	forged := make([]byte, 64)
	forged[0] = 1 // R = identity, S = 0
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(&chainpb.Tx{Body: body, MemberSignature: forged})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deliver(t, chain.NewMachine(10), st, raw); err == nil {
		t.Log("a signature made without any private key is accepted for the member with the identity key")
	}

	if err := chain.ValidateMember(m); err == nil {
		t.Fatal("a small-order member key is admitted")
	}
	notPoint := make([]byte, 32)
	notPoint[0] = 2 // y = 2 is not the y of a point
	if err := chain.ValidateMember(&chainpb.Member{Id: "weak", PubKey: notPoint, Roles: []string{chain.RoleRevoker}}); err == nil {
		t.Fatal("a member key that is not a point is admitted")
	}
}
