package genesis_test

import (
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/fixture"
)

func valid(t *testing.T) *genesis.AppState {
	t.Helper()
	w, err := fixture.Get()
	if err != nil {
		t.Fatal(err)
	}
	// A deep copy through JSON, so cases can change it.
	b, _ := json.Marshal(w.AppState)
	s, err := genesis.ParseAppState(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestValidateNamesEachField: every invalid field gets an error that names
// it.
func TestValidateNamesEachField(t *testing.T) {
	if err := valid(t).Validate(); err != nil {
		t.Fatalf("fixture genesis: %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*genesis.AppState)
		field string
	}{
		{"no members", func(s *genesis.AppState) { s.Members = nil }, "members:"},
		{"bad member ID", func(s *genesis.AppState) { s.Members[0].ID = "Org One" }, `members[0]: id "Org One"`},
		{"duplicate member", func(s *genesis.AppState) { s.Members[1].ID = s.Members[0].ID }, "members[1].id"},
		{"short key", func(s *genesis.AppState) { s.Members[0].PubKey = s.Members[0].PubKey[:31] }, "members[0]: pub_key: want a 32-byte ed25519 key, got 31 bytes"},
		{"shared key", func(s *genesis.AppState) { s.Members[2].PubKey = s.Members[0].PubKey }, "members[2].pub_key: the same key"},
		{"unknown role", func(s *genesis.AppState) { s.Members[0].Roles = []string{"king"} }, `members[0]: roles: "king" is not a role`},
		{"no role", func(s *genesis.AppState) { s.Members[0].Roles = nil }, "members[0]: roles: a member needs at least one role"},
		{"bad node ID", func(s *genesis.AppState) { s.Members[0].NodeIDs = []string{"xyz"} }, "members[0]: node_ids"},
		{"bad validator key", func(s *genesis.AppState) { s.Members[0].ValidatorKeys = [][]byte{{1, 2}} }, "members[0].validator_keys[0]"},
		{"no auth anchor", func(s *genesis.AppState) { s.Anchors = s.Anchors[1:] }, `anchors: at least one user-authentication ("auth") trust anchor`},
		{"anchor kind mismatch", func(s *genesis.AppState) { s.Anchors[0].Kind = "sign" }, `anchors[0].kind: declared "sign"`},
		{"anchor kind unknown", func(s *genesis.AppState) { s.Anchors[0].Kind = "root" }, `anchors[0].kind: "root"`},
		{"anchor not a certificate", func(s *genesis.AppState) { s.Anchors[0].Certificate = []byte("junk") }, "anchors[0].certificate"},
		{"duplicate anchor", func(s *genesis.AppState) { s.Anchors = append(s.Anchors, s.Anchors[0]) }, "anchors[2].certificate: the same certificate appears twice"},
		{"zero lifetime", func(s *genesis.AppState) { s.Params.MaxAttestationLifetime = 0 }, "params: max_attestation_lifetime"},
		{"fractional lifetime", func(s *genesis.AppState) { s.Params.MaxAttestationLifetime = genesis.Duration(1500 * time.Millisecond) }, "params.max_attestation_lifetime: want a whole number of seconds"},
		{"negative retention", func(s *genesis.AppState) { s.Params.BlockRetention = -1 }, "params: block_retention"},
		{"threshold too high", func(s *genesis.AppState) { s.Params.GovernorThreshold = 5 }, "params: governor_threshold: want 1 to 1"},
		{"claim capacity", func(s *genesis.AppState) { s.Params.MaxAttestationsPerClaim = 0 }, "params: max_attestations_per_claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := valid(t)
			tc.edit(s)
			err := s.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "genesis: "+tc.field) {
				t.Fatalf("error %q does not name %q", err, tc.field)
			}
		})
	}
}

func TestParseAppStateRefusesUnknownFields(t *testing.T) {
	if _, err := genesis.ParseAppState([]byte(`{"params":{},"members":[],"anchors":[],"my_number":"123412341234"}`)); err == nil || !strings.Contains(err.Error(), "my_number") {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := genesis.ParseAppState([]byte(`{"params":{"max_attestation_lifetime":"forever"}}`)); err == nil {
		t.Fatal("bad duration accepted")
	}
}

// TestRealJLISRoots: a production genesis accepts the real J-LIS 2023 roots
// as anchors and tells the two kinds apart. The roots are read from
// ../shared/jpki-roots (never committed here).
func TestRealJLISRoots(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "jpki-roots")
	auth, err1 := os.ReadFile(filepath.Join(dir, "auth_ca_2023.pem"))
	sign, err2 := os.ReadFile(filepath.Join(dir, "sign_ca_2023.pem"))
	if err1 != nil || err2 != nil {
		t.Skipf("J-LIS roots not available in %s: %v %v", dir, err1, err2)
	}
	der := func(p []byte) []byte {
		b, _ := pem.Decode(p)
		if b == nil {
			t.Fatal("not PEM")
		}
		return b.Bytes
	}
	s := valid(t)
	s.Anchors = []genesis.Anchor{{Kind: "auth", Name: "J-LIS auth 2023", Certificate: der(auth)}, {Kind: "sign", Certificate: der(sign)}}
	if err := s.Validate(); err != nil {
		t.Fatalf("production anchors refused: %v", err)
	}
	s.Anchors[0].Kind, s.Anchors[1].Kind = "sign", "auth"
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "anchors[0].kind") || !strings.Contains(err.Error(), "anchors[1].kind") {
		t.Fatalf("swapped kinds: %v", err)
	}
}

// TestParamsOfInvertsChain: the parameters read back from the chain's
// genesis are the genesis file's, field by field.
func TestParamsOfInvertsChain(t *testing.T) {
	s := valid(t)
	s.Params.MaxRevocationsPerTx, s.Params.BlockRetention, s.Params.AllowSigningCertificates = 7, 1000, true
	if got := genesis.ParamsOf(s.Chain().Params); got != s.Params {
		t.Errorf("ParamsOf(Chain().Params) = %+v, want %+v", got, s.Params)
	}
}
