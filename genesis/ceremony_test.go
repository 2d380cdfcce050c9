package genesis_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	cmtjson "github.com/cometbft/cometbft/libs/json"

	"github.com/idledger/idledger/genesis"
)

// request makes org's signed join request for chain "c1".
func request(t testing.TB, i int, roles ...string) (*genesis.JoinRequest, ed25519.PrivateKey) {
	t.Helper()
	_, member, _ := ed25519.GenerateKey(rand.Reader)
	val, _, _ := ed25519.GenerateKey(rand.Reader)
	if roles == nil {
		roles = []string{"validator", "governor", "attester"}
	}
	r, err := genesis.NewJoinRequest(genesis.JoinRequestBody{
		ChainID: "c1", Member: fmt.Sprintf("org%d", i), NodeID: fmt.Sprintf("%040x", i),
		P2PAddress: fmt.Sprintf("10.0.0.%d:26656", i), ValidatorPubKey: val, Roles: roles,
	}, member)
	if err != nil {
		t.Fatal(err)
	}
	return r, member
}

// TestJoinRequestRoundTrip: a request survives its file and its signature
// checks; any change to a signed field breaks it.
func TestJoinRequestRoundTrip(t *testing.T) {
	r, _ := request(t, 1)
	got, err := genesis.DecodeJoinRequest(r.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Body.Member != "org1" || strings.Join(got.Body.Roles, ",") != "attester,governor,validator" {
		t.Errorf("decoded %+v", got.Body)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"altered member", `"member": "org1"`, `"member": "org2"`, "signature: not a signature"},
		{"altered address", `10.0.0.1:26656`, `10.6.6.6:26656`, "signature: not a signature"},
		{"unknown role", `"attester"`, `"king"`, `"king" is not a role`},
		{"bad node ID", `"node_id": "0000`, `"node_id": "zz00`, "node_id"},
		{"other version", `"version": 1`, `"version": 2`, "version 2"},
		{"unknown field", `"version": 1`, `"version": 1, "private_key": "x"`, "unknown field"},
		{"bad address", `10.0.0.1:26656`, `10.0.0.1`, "p2p_address"},
	} {
		raw := strings.Replace(string(r.Encode()), tc.from, tc.to, 1)
		if raw == string(r.Encode()) {
			t.Fatalf("%s: %q not in the request", tc.name, tc.from)
		}
		if _, err := genesis.DecodeJoinRequest([]byte(raw)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	short := *r
	short.Body.MemberPubKey = short.Body.MemberPubKey[:31]
	if err := short.Check(); err == nil || !strings.Contains(err.Error(), "member_pub_key") {
		t.Errorf("short member key: %v", err)
	}
}

// TestAssembleRefuses: every clash between requests and every bad request
// is refused with an error naming it.
func TestAssembleRefuses(t *testing.T) {
	anchors := valid(t).Anchors
	opts := genesis.AssembleOptions{ChainID: "c1", Anchors: anchors}
	a, _ := request(t, 1)
	b, _ := request(t, 2)
	clone := func(r *genesis.JoinRequest, edit func(*genesis.JoinRequestBody)) *genesis.JoinRequest {
		c := *r
		edit(&c.Body)
		return &c
	}
	resign := func(r *genesis.JoinRequest, key ed25519.PrivateKey, edit func(*genesis.JoinRequestBody)) *genesis.JoinRequest {
		body := r.Body
		edit(&body)
		out, err := genesis.NewJoinRequest(body, key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	_, keyB := request(t, 2)
	for _, tc := range []struct {
		name string
		reqs []*genesis.JoinRequest
		want string
	}{
		{"duplicate member", []*genesis.JoinRequest{a, a}, `join request of "org1": member ID is the same as "org1"'s`},
		{"same node ID", []*genesis.JoinRequest{a, resign(b, keyB, func(x *genesis.JoinRequestBody) { x.NodeID = a.Body.NodeID })}, "node ID is the same"},
		{"same consensus key", []*genesis.JoinRequest{a, resign(b, keyB, func(x *genesis.JoinRequestBody) { x.ValidatorPubKey = a.Body.ValidatorPubKey })}, "consensus key is the same"},
		{"same address", []*genesis.JoinRequest{a, resign(b, keyB, func(x *genesis.JoinRequestBody) { x.P2PAddress = a.Body.P2PAddress })}, "p2p address is the same"},
		{"other chain", []*genesis.JoinRequest{a, resign(b, keyB, func(x *genesis.JoinRequestBody) { x.ChainID = "c2" })}, `for chain "c2"`},
		{"forged", []*genesis.JoinRequest{a, clone(b, func(x *genesis.JoinRequestBody) { x.Roles = []string{"governor"} })}, "signature"},
		{"no validator", []*genesis.JoinRequest{resign(b, keyB, func(x *genesis.JoinRequestBody) { x.Roles = []string{"attester"} })}, "no join request asks for the validator role"},
		{"none", nil, "no join requests"},
	} {
		if _, err := genesis.AssembleDoc(opts, tc.reqs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if _, err := genesis.AssembleDoc(genesis.AssembleOptions{ChainID: "c1", Anchors: anchors, GovernorThreshold: 3}, []*genesis.JoinRequest{a, b}); err == nil || !strings.Contains(err.Error(), "governor threshold 3") {
		t.Errorf("threshold above the governors: %v", err)
	}
	if _, err := genesis.AssembleDoc(genesis.AssembleOptions{ChainID: "c1"}, []*genesis.JoinRequest{a}); err == nil || !strings.Contains(err.Error(), "anchors") {
		t.Errorf("no anchors: %v", err)
	}
}

// TestAssemble: members with their node IDs and addresses, validators for
// those that asked, a majority threshold, and a summary with the file's
// hash.
func TestAssemble(t *testing.T) {
	a, _ := request(t, 1)
	b, _ := request(t, 2)
	c, _ := request(t, 3, "attester")
	doc, err := genesis.AssembleDoc(genesis.AssembleOptions{ChainID: "c1", Anchors: valid(t).Anchors, BlockRetention: 100}, []*genesis.JoinRequest{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	st, err := genesis.FromDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Validators) != 2 || len(st.Members) != 3 || st.Params.GovernorThreshold != 2 || st.Params.BlockRetention != 100 {
		t.Fatalf("validators %d, members %d, threshold %d, retention %d", len(doc.Validators), len(st.Members), st.Params.GovernorThreshold, st.Params.BlockRetention)
	}
	m := st.Members[2]
	if m.ID != "org3" || m.P2PAddress != "10.0.0.3:26656" || m.NodeIDs[0] != c.Body.NodeID || len(m.ValidatorKeys) != 0 {
		t.Errorf("member 3 = %+v", m)
	}
	if st.ValidatorMember(a.Body.ValidatorPubKey) != "org1" {
		t.Errorf("validator 1 not tied to org1")
	}
	raw, _ := cmtjson.Marshal(doc)
	sum, err := genesis.Summarize(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum2, _ := genesis.Summarize(append(bytes.Clone(raw), ' '))
	if len(sum.Hash) != 64 || sum2 == nil || sum.Hash == sum2.Hash || sum.Validators[1].Member != "org2" {
		t.Errorf("summary = %+v", sum)
	}
}

// FuzzDecodeJoinRequest: the join request decoder never panics, and what it
// accepts is a request whose signature checks and that encodes back to a
// request it accepts again.
func FuzzDecodeJoinRequest(f *testing.F) {
	r, _ := request(f, 1)
	f.Add(r.Encode())
	f.Add([]byte(`{"request":{"version":1},"signature":""}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"request":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := genesis.DecodeJoinRequest(b)
		if err != nil {
			return
		}
		if _, err := genesis.DecodeJoinRequest(r.Encode()); err != nil {
			t.Fatalf("re-encoded request refused: %v", err)
		}
	})
}
