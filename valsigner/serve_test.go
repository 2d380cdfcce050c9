package valsigner

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/protoio"
	"github.com/cometbft/cometbft/privval"
	privvalproto "github.com/cometbft/cometbft/proto/tendermint/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"
)

// peer is the node's end of a signer connection, speaking raw privval
// messages, so that a test can send what no CometBFT node would.
type peer struct {
	t    *testing.T
	conn net.Conn
	r    protoio.ReadCloser
	w    protoio.WriteCloser
}

func newPeer(t *testing.T, conn net.Conn) *peer {
	return &peer{t: t, conn: conn, r: protoio.NewDelimitedReader(conn, maxMsgSize), w: protoio.NewDelimitedWriter(conn)}
}

// ask sends req and returns the signer's answer.
func (p *peer) ask(req privvalproto.Message) privvalproto.Message {
	p.t.Helper()
	if err := p.conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.w.WriteMsg(&req); err != nil {
		p.t.Fatalf("sending %T: %v (did the signer die?)", req.Sum, err)
	}
	var res privvalproto.Message
	if _, err := p.r.ReadMsg(&res); err != nil {
		p.t.Fatalf("answer to %T: %v (did the signer die?)", req.Sum, err)
	}
	return res
}

func voteReq(v *cmtproto.Vote) privvalproto.Message {
	return privvalproto.Message{Sum: &privvalproto.Message_SignVoteRequest{SignVoteRequest: &privvalproto.SignVoteRequest{Vote: v, ChainId: testChain}}}
}

func proposalReq(p *cmtproto.Proposal) privvalproto.Message {
	return privvalproto.Message{Sum: &privvalproto.Message_SignProposalRequest{SignProposalRequest: &privvalproto.SignProposalRequest{Proposal: p, ChainId: testChain}}}
}

func pingReq() privvalproto.Message {
	return privvalproto.Message{Sum: &privvalproto.Message_PingRequest{PingRequest: &privvalproto.PingRequest{}}}
}

func proposal(h int64, r, pol int32) *cmtproto.Proposal {
	v := vote(h, r, cmtproto.PrevoteType, 0xaa)
	return &cmtproto.Proposal{Type: cmtproto.ProposalType, Height: h, Round: r, PolRound: pol, BlockID: v.BlockID, Timestamp: v.Timestamp}
}

// voteRefusal returns the error description of a sign-vote answer, or
// fails when res is not a sign-vote answer.
func voteRefusal(t *testing.T, res privvalproto.Message) string {
	t.Helper()
	r, ok := res.Sum.(*privvalproto.Message_SignedVoteResponse)
	if !ok {
		t.Fatalf("answer %T, want a signed-vote response", res.Sum)
	}
	if r.SignedVoteResponse.Error == nil {
		return ""
	}
	return r.SignedVoteResponse.Error.Description
}

func proposalRefusal(t *testing.T, res privvalproto.Message) string {
	t.Helper()
	r, ok := res.Sum.(*privvalproto.Message_SignedProposalResponse)
	if !ok {
		t.Fatalf("answer %T, want a signed-proposal response", res.Sum)
	}
	if r.SignedProposalResponse.Error == nil {
		return ""
	}
	return r.SignedProposalResponse.Error.Description
}

func wantPong(t *testing.T, res privvalproto.Message) {
	t.Helper()
	if _, ok := res.Sum.(*privvalproto.Message_PingResponse); !ok {
		t.Fatalf("answer to a ping: %T", res.Sum)
	}
}

// serve runs serveConn on one end of a pipe and returns the other end.
func serve(t *testing.T, s *Signer) *peer {
	t.Helper()
	node, signer := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveConn(ctx, signer, RunOptions{ChainID: testChain, Signer: s, Logger: log.NewNopLogger(), Timeout: 60 * time.Second})
	}()
	t.Cleanup(func() { cancel(); node.Close(); <-done })
	return newPeer(t, node)
}

// TestSignerSurvivesMalformedRequests: whatever answers at --node may send
// a sign request without its vote or proposal, or with one no node would
// ask for; the signer answers each with a refusal and goes on serving the
// same connection (it used to dereference the missing vote and die).
func TestSignerSurvivesMalformedRequests(t *testing.T) {
	s := openSigner(t)
	p := serve(t, s)

	badVotes := map[string]privvalproto.Message{
		"without a vote": voteReq(nil),
		"height 0":       voteReq(vote(0, 0, cmtproto.PrevoteType, 0xaa)),
		"round -1":       voteReq(vote(3, -1, cmtproto.PrevoteType, 0xaa)),
		"vote type 32":   voteReq(vote(3, 0, cmtproto.ProposalType, 0xaa)),
	}
	short := vote(3, 0, cmtproto.PrecommitType, 0xaa)
	short.BlockID.Hash = short.BlockID.Hash[:5]
	badVotes["malformed block ID"] = voteReq(short)
	for name, req := range badVotes {
		if desc := voteRefusal(t, p.ask(req)); !strings.Contains(desc, "refusing") {
			t.Errorf("vote %s: answer %q, want a refusal", name, desc)
		}
	}
	badProposals := map[string]privvalproto.Message{
		"without a proposal": proposalReq(nil),
		"height -4":          proposalReq(proposal(-4, 0, -1)),
		"POL round -2":       proposalReq(proposal(3, 0, -2)),
		"POL round = round":  proposalReq(proposal(3, 1, 1)),
	}
	noBlock := proposal(3, 0, -1)
	noBlock.BlockID = cmtproto.BlockID{}
	badProposals["without a block"] = proposalReq(noBlock)
	for name, req := range badProposals {
		if desc := proposalRefusal(t, p.ask(req)); !strings.Contains(desc, "refusing") {
			t.Errorf("proposal %s: answer %q, want a refusal", name, desc)
		}
	}
	if st := s.State(); st.Height != 0 {
		t.Fatalf("a malformed request changed the sign state: %+v", st)
	}

	// The connection still works and the signer still signs.
	wantPong(t, p.ask(pingReq()))
	res := p.ask(proposalReq(proposal(3, 1, 0)))
	if desc := proposalRefusal(t, res); desc != "" {
		t.Fatalf("a good proposal refused: %s", desc)
	}
	signed := res.GetSignedProposalResponse().Proposal
	pub, _ := s.GetPubKey()
	if !pub.VerifySignature(types.ProposalSignBytes(testChain, &signed), signed.Signature) {
		t.Fatal("bad proposal signature")
	}
	if desc := voteRefusal(t, p.ask(voteReq(vote(3, 1, cmtproto.PrevoteType, 0xaa)))); desc != "" {
		t.Fatalf("a good prevote refused: %s", desc)
	}
}

// TestSignerRecoversFromAFailingRequest: a panic while answering one
// request becomes that request's refusal; the signer answers the next.
func TestSignerRecoversFromAFailingRequest(t *testing.T) {
	s := openSigner(t)
	p := serve(t, s)
	saved := handleRequest
	handleRequest = func(types.PrivValidator, privvalproto.Message, string) (privvalproto.Message, error) {
		panic("boom")
	}
	desc := voteRefusal(t, p.ask(voteReq(vote(2, 0, cmtproto.PrevoteType, 0xaa))))
	handleRequest = saved
	if !strings.Contains(desc, "boom") {
		t.Fatalf("answer to a request whose handler panicked: %q, want the failure", desc)
	}
	if desc := voteRefusal(t, p.ask(voteReq(vote(2, 0, cmtproto.PrevoteType, 0xaa)))); desc != "" {
		t.Fatalf("the next request refused: %s", desc)
	}
}

// TestSignerSurvivesNilVoteOverTheWire: a "node" that accepts the signer's
// secret connection and sends a sign-vote request without a vote gets a
// refusal, and the running signer (Run) keeps answering it.
func TestSignerSurvivesNilVoteOverTheWire(t *testing.T) {
	keyPath, statePath := genKey(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := privval.NewTCPListener(l, ed25519.GenPrivKey())
	defer ln.Close()
	stop := runSigner(t, l.Addr().String(), keyPath, statePath)
	defer stop()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := newPeer(t, conn)
	if desc := voteRefusal(t, p.ask(voteReq(nil))); !strings.Contains(desc, "without a vote") {
		t.Fatalf("sign-vote request without a vote: answer %q", desc)
	}
	if desc := proposalRefusal(t, p.ask(proposalReq(nil))); !strings.Contains(desc, "without a proposal") {
		t.Fatalf("sign-proposal request without a proposal: answer %q", desc)
	}
	wantPong(t, p.ask(pingReq()))
	if desc := voteRefusal(t, p.ask(voteReq(vote(7, 0, cmtproto.PrecommitType, 0xaa)))); desc != "" {
		t.Fatalf("a good precommit refused: %s", desc)
	}
}

// TestAnswerRefusesEmptyBodies: requests whose oneof holds a nil body (as
// a Go caller could build them) are refused, not dereferenced.
func TestAnswerRefusesEmptyBodies(t *testing.T) {
	s := openSigner(t)
	for _, req := range []privvalproto.Message{
		{Sum: &privvalproto.Message_SignVoteRequest{}},
		{Sum: &privvalproto.Message_SignProposalRequest{}},
		{Sum: &privvalproto.Message_PubKeyRequest{}},
		{Sum: &privvalproto.Message_PingRequest{}},
	} {
		res, err := answer(s, req, testChain)
		if err == nil || res.Sum == nil {
			t.Errorf("%T with a nil body: answer %v, %v; want a refusal", req.Sum, res.Sum, err)
		}
	}
	if err := s.SignVote(testChain, nil); err == nil {
		t.Error("SignVote(nil) signed")
	}
	if err := s.SignProposal(testChain, nil); err == nil {
		t.Error("SignProposal(nil) signed")
	}
}

// FuzzSignerRequest feeds arbitrary bytes as a privval request to the
// checks and the handler, without the recover: no request may panic.
func FuzzSignerRequest(f *testing.F) {
	for _, req := range []privvalproto.Message{
		voteReq(nil), proposalReq(nil), pingReq(),
		voteReq(vote(3, 0, cmtproto.PrecommitType, 0xaa)),
		proposalReq(proposal(3, 1, 0)),
		{Sum: &privvalproto.Message_PubKeyRequest{PubKeyRequest: &privvalproto.PubKeyRequest{ChainId: testChain}}},
	} {
		b, err := req.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	keyPath, statePath := genKey(f)
	s, err := Open(keyPath, statePath, OpenOptions{})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		var req privvalproto.Message
		if req.Unmarshal(b) != nil {
			return
		}
		if checkRequest(req) != nil {
			return
		}
		res, err := handleRequest(s, req, testChain)
		if err == nil && res.Sum == nil {
			t.Fatalf("no answer and no error for %v", req)
		}
	})
}
