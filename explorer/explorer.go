// Package explorer is idledger's read-only web explorer: server-rendered
// HTML pages (html/template, no script, no build step) over the verified Go
// client. It shows the network (height, validators and their power,
// members, the claim-type registry, counts of attestations and
// revocations), one block, one attestation by ID, a status lookup by
// identity commitment and claim type, and the open proposals. Every value
// it labels verified was checked with a Merkle proof against a
// light-client-verified header.
//
// It never shows or accepts personal data: the only inputs are a block
// height, an attestation ID, a subject commitment (a hash) and a claim type,
// each checked against its strict syntax; blocks are summarised by
// transaction kind and hash, never by the certificates they carry.
package explorer

import (
	"context"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
)

//go:embed templates/*.html templates/style.css
var files embed.FS

// Server serves the explorer pages.
type Server struct {
	c       *client.Client
	tmpl    *template.Template
	css     []byte
	timeout time.Duration
	// Warning is shown on every page (e.g. "verifying from the genesis the
	// node serves").
	Warning string
}

// New makes an explorer reading through c. Every request is bounded by
// timeout (0: 30 seconds).
func New(c *client.Client, timeout time.Duration) (*Server, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	t, err := template.New("").Funcs(template.FuncMap{
		"hex":  func(b []byte) string { return hex.EncodeToString(b) },
		"HEX":  func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) },
		"unix": func(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) },
		"time": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"secs": func(s int64) string { return (time.Duration(s) * time.Second).String() },
		"join": strings.Join,
		"prev": func(h int64) int64 { return h - 1 },
		"allowed": func(ct *chainpb.ClaimType, member string) bool {
			return chain.AttesterAllowed(ct, member)
		},
	}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	return &Server{c: c, tmpl: t, css: css, timeout: timeout}, nil
}

// ServeHTTP routes: / (network), /block, /attestation, /status,
// /proposals, /style.css. Only GET and HEAD.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "explorer: read-only: GET only", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	var (
		page string
		data any
		err  error
	)
	switch r.URL.Path {
	case "/":
		page = "network"
		data, err = s.network(ctx)
	case "/block":
		page = "block"
		data, err = s.block(ctx, r.URL.Query().Get("height"))
	case "/attestation":
		page = "attestation"
		data, err = s.attestation(ctx, r.URL.Query().Get("id"))
	case "/status":
		page = "status"
		data, err = s.status(ctx, r.URL.Query().Get("subject"), r.URL.Query().Get("claim_type"))
	case "/proposals":
		page = "proposals"
		data, err = s.proposals(ctx)
	case "/style.css":
		h.Set("Content-Type", "text/css; charset=utf-8")
		w.Write(s.css)
		return
	default:
		s.render(w, http.StatusNotFound, "error", nil, errors.New("no such page"))
		return
	}
	code := http.StatusOK
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
		code = http.StatusBadRequest
	case errors.Is(err, client.ErrNotFound):
		code = http.StatusNotFound
	case err != nil:
		code = http.StatusBadGateway
	}
	if err != nil {
		page = "error"
	}
	s.render(w, code, page, data, err)
}

type pageData struct {
	Title   string
	Warning string
	Error   string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, code int, page string, data any, err error) {
	pd := pageData{Title: page, Warning: s.Warning, Data: data}
	if err != nil {
		pd.Error = err.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := s.tmpl.ExecuteTemplate(w, page+".html", pd); err != nil {
		fmt.Fprintf(w, "<p>explorer: rendering: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

// badRequest is an input the explorer refuses.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return "explorer: " + e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// Verification says what a page's values were checked against.
type Verification struct {
	HeaderVerified bool
	ProofVerified  bool
	Height         int64 // the verified header's height
	AppHash        []byte
	Trust          *client.TrustInfo
	Error          string // why verification failed, if it did
}

// ValidatorRow is a validator of the latest verified header.
type ValidatorRow struct {
	Address string
	Member  string
	Power   int64
}

// Network is the front page.
type Network struct {
	ChainID     string
	Height      int64
	Time        time.Time
	Header      Verification
	Validators  []ValidatorRow
	TotalPower  int64
	Members     []*chainpb.Member
	ClaimTypes  []*chainpb.ClaimType
	Counts      Counts
	OpenProps   int
	CountHeight int64
}

// Counts are the state's totals.
type Counts struct {
	Attestations        int
	RevokedAttestations int
	SubjectRevocations  int
}

func (s *Server) network(ctx context.Context) (*Network, error) {
	st, err := s.c.RPC().Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("explorer: node status: %w", err)
	}
	n := &Network{ChainID: st.NodeInfo.Network, Height: st.SyncInfo.LatestBlockHeight, Time: st.SyncInfo.LatestBlockTime}
	lb, verr := s.c.VerifiedHeader(ctx, n.Height)
	if verr != nil {
		n.Header.Error = verr.Error()
	} else {
		n.Header = Verification{HeaderVerified: true, Height: lb.Height, AppHash: lb.AppHash}
		n.Header.Trust, _ = s.c.Trust(ctx)
		appVals, err := s.c.Validators(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range lb.ValidatorSet.Validators {
			row := ValidatorRow{Address: v.Address.String(), Power: v.VotingPower}
			for _, av := range appVals {
				if string(av.PubKey) == string(v.PubKey.Bytes()) {
					row.Member = av.Member
				}
			}
			n.Validators = append(n.Validators, row)
			n.TotalPower += v.VotingPower
		}
	}
	if n.Members, err = s.c.Members(ctx); err != nil {
		return nil, err
	}
	if n.ClaimTypes, err = s.c.ClaimTypes(ctx); err != nil {
		return nil, err
	}
	atts, h, err := s.c.Range(ctx, chain.AttestationKey(nil))
	if err != nil {
		return nil, err
	}
	n.CountHeight = h
	for _, kv := range atts {
		a := new(chainpb.Attestation)
		if proto.Unmarshal(kv.Value, a) == nil {
			n.Counts.Attestations++
			if a.Revocation != nil {
				n.Counts.RevokedAttestations++
			}
		}
	}
	revs, _, err := s.c.Range(ctx, chain.SubjectRevocationKey(nil))
	if err != nil {
		return nil, err
	}
	n.Counts.SubjectRevocations = len(revs)
	props, err := s.c.Proposals(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range props {
		if p.Status == chain.ProposalOpen {
			n.OpenProps++
		}
	}
	return n, nil
}

// TxRow summarises a transaction of a block: no certificate, no claim.
type TxRow struct {
	Hash   string
	Kind   string
	Signer string
}

// Block is one block.
type Block struct {
	Height       int64
	Time         time.Time
	Hash         string
	AppHash      string
	Proposer     string
	DataVerified bool // the transactions hash to the verified header's data hash
	Header       Verification
	Txs          []TxRow
}

func (s *Server) block(ctx context.Context, q string) (*Block, error) {
	var height *int64
	if q != "" {
		h, err := strconv.ParseInt(q, 10, 64)
		if err != nil || h <= 0 {
			return nil, badf("height %q: want a positive block number", q)
		}
		height = &h
	}
	res, err := s.c.RPC().Block(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("explorer: block: %w", err)
	}
	b := res.Block
	out := &Block{Height: b.Height, Time: b.Time, Hash: b.Hash().String(), AppHash: b.AppHash.String(), Proposer: b.ProposerAddress.String()}
	lb, verr := s.c.VerifiedHeader(ctx, b.Height)
	switch {
	case verr != nil:
		out.Header.Error = verr.Error()
	case !bytesEqual(lb.Hash(), b.Hash()):
		out.Header.Error = fmt.Sprintf("the node's block %d has hash %s, the verified header %s", b.Height, b.Hash(), lb.Hash())
	default:
		out.Header = Verification{HeaderVerified: true, Height: lb.Height, AppHash: lb.AppHash}
		out.Header.Trust, _ = s.c.Trust(ctx)
		out.DataVerified = bytesEqual(b.Data.Hash(), lb.DataHash)
	}
	for _, tx := range b.Txs {
		out.Txs = append(out.Txs, txRow(tx))
	}
	return out, nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// txRow names a transaction's kind and signer only.
func txRow(tx cmttypes.Tx) TxRow {
	row := TxRow{Hash: strings.ToUpper(hex.EncodeToString(tx.Hash())), Kind: "not an idledger transaction"}
	env := new(chainpb.Tx)
	if proto.Unmarshal(tx, env) != nil {
		return row
	}
	body := new(chainpb.TxBody)
	if proto.Unmarshal(env.Body, body) != nil {
		return row
	}
	row.Signer = body.Signer
	if body.Signer == "" {
		row.Signer = "subject"
	}
	if f := body.ProtoReflect().WhichOneof(body.ProtoReflect().Descriptor().Oneofs().ByName("msg")); f != nil {
		row.Kind = string(f.Name())
		if p := body.GetPropose(); p != nil {
			row.Kind += ": " + actionName(p.Action)
		}
	} else {
		row.Kind = "no message"
	}
	return row
}

func actionName(a *chainpb.GovAction) string {
	if a == nil {
		return "none"
	}
	if f := a.ProtoReflect().WhichOneof(a.ProtoReflect().Descriptor().Oneofs().ByName("action")); f != nil {
		return string(f.Name())
	}
	return "none"
}

// Attestation is one attestation read with a proof.
type Attestation struct {
	A      *chainpb.Attestation
	Proof  Verification
	Status chain.ClaimState // valid, revoked or expired at the verified header's time
}

func (s *Server) attestation(ctx context.Context, q string) (*Attestation, error) {
	id, err := chain.ParseAttestationID(q)
	if err != nil {
		return nil, badf("attestation ID %q: want %d hex digits", q, 2*chain.AttestationIDLen)
	}
	p, err := s.c.VerifiedGet(ctx, chain.AttestationKey(id))
	if err != nil {
		return nil, err
	}
	if p.Value == nil {
		return nil, fmt.Errorf("explorer: attestation %x: %w (proven absent at height %d)", id, client.ErrNotFound, p.Height)
	}
	a := new(chainpb.Attestation)
	if err := proto.Unmarshal(p.Value, a); err != nil {
		return nil, fmt.Errorf("explorer: the attestation record does not decode: %w", err)
	}
	out := &Attestation{A: a, Proof: Verification{HeaderVerified: true, ProofVerified: true, Height: p.Header.Height, AppHash: p.Header.AppHash, Trust: p.Trust}}
	switch {
	case a.Revocation != nil:
		out.Status = chain.StateRevoked
	case a.NotAfter <= p.Header.Time.Unix():
		out.Status = chain.StateExpired
	default:
		out.Status = chain.StateValid
	}
	return out, nil
}

// Status is a verified status lookup.
type Status struct {
	S     *client.Status
	Proof Verification
	// Allowed says whether the deciding attestation's attester may still
	// attest the type.
	Allowed bool
}

func (s *Server) status(ctx context.Context, subjectHex, claimType string) (*Status, error) {
	subject, err := chain.ParseSubject(subjectHex)
	if err != nil {
		return nil, badf("subject: an identity commitment is 64 hex digits (the explorer takes no certificate and no personal data)")
	}
	if !chain.ValidClaimType(claimType) {
		return nil, badf("claim type %q: want 1-%d characters of a-z 0-9 . _ -", claimType, chain.MaxClaimTypeLen)
	}
	st, err := s.c.ClaimStatus(ctx, subject, claimType, true)
	if err != nil {
		return nil, err
	}
	out := &Status{S: st, Proof: Verification{HeaderVerified: st.Verified, ProofVerified: st.Verified, Height: st.Height + 1, AppHash: st.AppHash, Trust: st.Trust}}
	if st.Entry != nil {
		out.Allowed = chain.AttesterAllowed(st.ClaimTypeEntry, st.Entry.Attester)
	}
	return out, nil
}

// ProposalRow is an open proposal.
type ProposalRow struct {
	P      *chainpb.Proposal
	Action string
}

func (s *Server) proposals(ctx context.Context) ([]ProposalRow, error) {
	ps, err := s.c.Proposals(ctx)
	if err != nil {
		return nil, err
	}
	var out []ProposalRow
	for _, p := range ps {
		if p.Status == chain.ProposalOpen {
			out = append(out, ProposalRow{P: p, Action: actionName(p.Action)})
		}
	}
	return out, nil
}
