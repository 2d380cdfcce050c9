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
// anyone could sign for that member. Only the key's length is checked when
// genesis or add_member admits it, so a mistyped or hostile proposal that
// the governors approve hands the member's rights to everyone. Refusing
// such keys at admission changes what add_member executes: a chain upgrade.
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

	t.Skip("FINDING: member keys of small order are admitted (genesis, add_member); anyone can sign for such a member. Refusing them is a chain upgrade (see the report)")
	if err := chain.ValidateMember(m); err == nil {
		t.Fatal("a small-order member key is admitted")
	}
}
