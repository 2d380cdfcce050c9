package chain_test

import (
	"strings"
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
)

// TestNoMyNumberInClearText: no field the ledger records in the clear can
// carry a My Number (個人番号), even where its syntax would allow digits.
// "123456789018" is the published sample number (valid check digit).
func TestNoMyNumberInClearText(t *testing.T) {
	w := world(t)
	alice := w.Holders[fixture.Alice].CertDER
	for _, tc := range []struct {
		name         string
		body         *chainpb.TxBody
		member, card string
	}{
		{"claim type", nil, "", ""},
		{"attestation revocation reason", revokeBodyReason(chain.AttestationID(1, 0), "card of 1234-5678-9018 lost", nil), fixture.Reader, ""},
		{"subject's revocation reason", revokeBodyReason(chain.AttestationID(1, 0), "mine: 123456789018", alice), "", fixture.Alice},
		{"subjects revocation reason", &chainpb.TxBody{Msg: &chainpb.TxBody_RevokeSubjects{RevokeSubjects: &chainpb.RevokeSubjects{
			Commitments: [][]byte{w.Subject(fixture.Bob)}, Reason: "J-LIS: 1234 5678 9018"}}}, fixture.Reader, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw []byte
			var err error
			if tc.body == nil {
				raw, err = w.AttestTx(fixture.Attest{ClaimType: "kyc-123456789018"})
			} else {
				raw, err = w.Sign(tc.body, tc.member, tc.card)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = chain.DecodeTx(raw, fixture.ChainID)
			if chain.CodeOf(err) != chain.CodeInvalidField || !strings.Contains(err.Error(), "My Number (********9018)") || strings.Contains(err.Error(), "123456789018") {
				t.Fatalf("got %v, want a refusal that names a My Number without repeating it", err)
			}
		})
	}
	// A member, whether at genesis or added by governance, cannot be named
	// with one either.
	err := chain.CheckAction(&chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{
		Id: "bank", Name: "Tanaka 123456789018", PubKey: make([]byte, 32), Roles: []string{chain.RoleAttester}}}})
	if err == nil || !strings.Contains(err.Error(), "My Number") {
		t.Fatalf("add_member with a My Number in its name: %v", err)
	}
	// Twelve digits with a wrong check digit are no My Number.
	raw, _ := w.AttestTx(fixture.Attest{ClaimType: "ticket-123456789019"})
	if _, err := chain.DecodeTx(raw, fixture.ChainID); err != nil {
		t.Fatalf("a ticket number was refused: %v", err)
	}
}

func revokeBodyReason(id []byte, reason string, cert []byte) *chainpb.TxBody {
	b := revokeBody(id, 0, cert)
	b.GetRevokeAttestation().Reason = reason
	return b
}
