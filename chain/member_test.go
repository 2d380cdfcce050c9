package chain_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"net"
	"strings"
	"testing"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/fixture"
	"github.com/idledger/idledger/privacy"
)

// TestAddMemberP2PAddress: governance's add_member records a member's
// p2p_address only when it is host:port (an IP address or a DNS name and a
// port), at most chain.MaxP2PAddressLen bytes and free of a My Number; a
// proposal carrying anything else is refused and nothing reaches state.
// "123456789018" is the published sample My Number (valid check digit).
func TestAddMemberP2PAddress(t *testing.T) {
	for _, tc := range []struct{ name, addr, want string }{
		{"ipv4", "10.0.0.7:26656", ""},
		{"ipv6", "[2001:db8::7]:26656", ""},
		{"dns name", "node-1.bank.example.jp:26656", ""},
		{"none", "", ""},
		{"no port", "10.0.0.7", "p2p_address"},
		{"no host", ":26656", "p2p_address"},
		{"port 0", "10.0.0.7:0", "bad port"},
		{"port too big", "10.0.0.7:65536", "bad port"},
		{"port with a sign", "10.0.0.7:+26656", "bad port"},
		{"free text", "please call Tanaka-san at the office:26656", "IP address or a DNS name"},
		{"ip zone", "[fe80::1%eth0 hello]:26656", "zone"},
		{"label with an underscore", "a_b.example:26656", "DNS name"},
		{"too long", strings.Repeat("a.", 200) + "example:26656", "at most 260"},
		{"my number as host", "123456789018:26656", "My Number (********9018)"},
		{"my number spaced", "1234-5678-9018.example:26656", "My Number (********9018)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := world(t)
			st, m := govState(t, w)
			seed := sha256.Sum256([]byte("bank"))
			add := &chainpb.GovAction{Action: &chainpb.GovAction_AddMember{AddMember: &chainpb.Member{
				Id: "bank", PubKey: ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey),
				Roles: []string{chain.RoleAttester}, P2PAddress: tc.addr}}}
			_, err := deliver(t, m, st, sign(t, w, propose(add, 0), fixture.Operator, ""))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("propose: %v", err)
				}
				mustDeliver(t, m, st, sign(t, w, vote(1, 0), fixture.Reader, ""))
				if got := chain.GetMember(st, "bank"); got == nil || got.P2PAddress != tc.addr {
					t.Fatalf("member after the vote: %v, want p2p_address %q", got, tc.addr)
				}
				return
			}
			if chain.CodeOf(err) != chain.CodeInvalidAction || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("propose: %v, want an invalid-action refusal with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "123456789018") || strings.Contains(err.Error(), "1234-5678-9018") {
				t.Fatalf("the refusal repeats the My Number: %v", err)
			}
			if chain.GetProposal(st, 1) != nil {
				t.Fatal("the refused proposal reached state")
			}
		})
	}
}

// FuzzMemberP2PAddress: ValidateMember never panics on a p2p_address, and
// one it accepts is host:port, within the length cap and free of a My
// Number.
func FuzzMemberP2PAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.7:26656", "[2001:db8::7]:1", "node.example:26656", "123456789018:26656",
		"a b:1", "[fe80::1%x]:2", ":1", "x:0", strings.Repeat("a", 300) + ":1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		m := &chainpb.Member{Id: "bank", PubKey: make([]byte, 32), Roles: []string{chain.RoleAttester}, P2PAddress: addr}
		if chain.ValidateMember(m) != nil || addr == "" {
			return
		}
		if len(addr) > chain.MaxP2PAddressLen {
			t.Fatalf("accepted %d bytes", len(addr))
		}
		if _, found := privacy.FindMyNumber([]byte(addr)); found {
			t.Fatalf("accepted a My Number: %q", addr)
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host == "" || strings.ContainsAny(host, " \t\n%_/@") {
			t.Fatalf("accepted %q", addr)
		}
	})
}
