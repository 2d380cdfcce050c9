// Package client is the Go client of an idledger node: it reads state
// (members, parameters, trust anchors, attestations, claim status), checks
// answers against Merkle proofs and light-client-verified headers, and
// builds, signs and submits transactions.
//
// Reads go through the app's ABCI query paths ("/key" and "/range") over
// CometBFT's RPC. A verified read (VerifiedGet, ClaimStatus with verify)
// checks the ICS23 proof of the value against the app hash in the header of
// the next block, and that header with CometBFT's light client from a
// trusted checkpoint: by default the genesis block, whose commit is checked
// against the genesis validators. A proof or header that does not verify is
// an error, never an answer. The proof check itself is package chain's
// (chain.CheckProof); this package fetches the proofs and the headers.
//
// One file per job: client.go (the client and plain reads), verify.go (the
// light client and verified reads), registry.go (the claim-type registry),
// checkpoint.go (a trusted checkpoint from independent servers), submit.go
// (broadcasting and member signing), attest.go, revoke.go, gov.go
// (governance writes and reads), revocationbatch.go (a bulk subject
// revocation and its progress file) and offline.go (generate-only signing).
package client

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/jpki"
)

// DefaultNodeURL is the RPC address of a node started with the defaults.
const DefaultNodeURL = "http://127.0.0.1:26657"

// DefaultTrustPeriod is how long a trusted header stays a valid starting
// point for the light client (CometBFT's light client default).
const DefaultTrustPeriod = 168 * time.Hour

// requestTimeoutSeconds bounds each RPC request, so that a node that stops
// answering cannot hang a caller whose context has no deadline.
const requestTimeoutSeconds = 30

// DefaultCommitTimeout bounds how long Submit waits for a transaction to be
// committed when the context has no deadline.
const DefaultCommitTimeout = time.Minute

var (
	// ErrNotFound is returned (wrapped) by reads of a record that does not
	// exist: an unknown member or attestation.
	ErrNotFound = errors.New("not found")
	// ErrVerification is returned (wrapped) when a proof, a header or the
	// trust root does not check out. The answer must not be used.
	ErrVerification = errors.New("verification failed")
)

// Client talks to one idledger node. It is safe for concurrent use.
type Client struct {
	url  string
	rpc  *rpchttp.HTTP
	opts options

	mu      sync.Mutex
	chainID string
	light   *light.Client
	trust   *TrustInfo
}

type options struct {
	genesis       *cmttypes.GenesisDoc
	trustHeight   int64
	trustHash     []byte
	trustPeriod   time.Duration
	witnesses     []string
	logger        log.Logger
	pollInterval  time.Duration
	commitTimeout time.Duration
	now           func() time.Time
	offline       *Offline // generate-only (offline.go)
}

// Option configures a Client.
type Option func(*options)

// WithGenesis sets the genesis that verification starts from: the
// validators of its first block. Without it (and without WithTrustedHeader)
// the client fetches the genesis from the node itself, which checks the
// node's consistency but not its identity; TrustInfo says which was used.
func WithGenesis(doc *cmttypes.GenesisDoc) Option { return func(o *options) { o.genesis = doc } }

// WithTrustedHeader sets the light client's checkpoint: a block height and
// hash obtained from a source you trust. It replaces the genesis check.
func WithTrustedHeader(height int64, hash []byte) Option {
	return func(o *options) { o.trustHeight, o.trustHash = height, hash }
}

// WithTrustPeriod sets how long the checkpoint stays trusted (default
// DefaultTrustPeriod). Headers are verified only from a checkpoint younger
// than this.
func WithTrustPeriod(d time.Duration) Option { return func(o *options) { o.trustPeriod = d } }

// WithWitnesses adds other nodes' RPC URLs that the light client
// cross-checks the node's headers with. Without witnesses the node is its
// own witness.
func WithWitnesses(urls ...string) Option {
	return func(o *options) { o.witnesses = append(o.witnesses, urls...) }
}

// WithLogger sends the light client's logs to l.
func WithLogger(l log.Logger) Option { return func(o *options) { o.logger = l } }

// WithPollInterval sets how often the client polls while it waits for a
// transaction's commit or the next block (default 100ms).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// WithCommitTimeout sets how long Submit waits for a commit when the
// context has no deadline (default DefaultCommitTimeout).
func WithCommitTimeout(d time.Duration) Option { return func(o *options) { o.commitTimeout = d } }

// withClock replaces the wall clock (tests).
func withClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns a client of the node whose RPC listens at nodeURL, such as
// "http://127.0.0.1:26657". It does not contact the node yet.
func New(nodeURL string, opts ...Option) (*Client, error) {
	if nodeURL == "" {
		nodeURL = DefaultNodeURL
	}
	if !strings.Contains(nodeURL, "://") {
		nodeURL = "http://" + nodeURL
	}
	o := options{
		trustPeriod:   DefaultTrustPeriod,
		logger:        log.NewNopLogger(),
		pollInterval:  100 * time.Millisecond,
		commitTimeout: DefaultCommitTimeout,
		now:           time.Now,
	}
	for _, f := range opts {
		f(&o)
	}
	if (o.trustHeight != 0) != (len(o.trustHash) != 0) {
		return nil, errors.New("client: a trusted header needs both a height and a hash")
	}
	if o.trustPeriod <= 0 {
		return nil, errors.New("client: the trust period must be positive")
	}
	rpc, err := rpchttp.NewWithTimeout(nodeURL, "/websocket", requestTimeoutSeconds)
	if err != nil {
		return nil, fmt.Errorf("client: node %s: %w", nodeURL, err)
	}
	return &Client{url: nodeURL, rpc: rpc, opts: o}, nil
}

// URL returns the node's RPC URL.
func (c *Client) URL() string { return c.url }

// RPC returns the underlying CometBFT RPC client.
func (c *Client) RPC() rpcclient.Client { return c.rpc }

// ChainID returns the chain ID the node serves.
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.chainID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	if c.Generating() {
		return c.offlineChainID()
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", c.rpcErr("status", err)
	}
	c.mu.Lock()
	c.chainID = st.NodeInfo.Network
	c.mu.Unlock()
	return st.NodeInfo.Network, nil
}

func (c *Client) rpcErr(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("client: %s: %w", what, err)
	}
	return fmt.Errorf("client: %s from node %s: %w", what, c.url, err)
}

// QueryError is a query the app answered with an error code.
type QueryError struct {
	Path      string
	Code      uint32
	Codespace string
	Log       string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("client: query %s: %s (code %d)", e.Path, e.Log, e.Code)
}

// query runs an ABCI query at the latest state.
func (c *Client) query(ctx context.Context, path string, data []byte, prove bool) (*abci.ResponseQuery, error) {
	return c.queryAt(ctx, path, data, prove, 0)
}

// queryAt runs an ABCI query at state height (0: the latest).
func (c *Client) queryAt(ctx context.Context, path string, data []byte, prove bool, height int64) (*abci.ResponseQuery, error) {
	if c.Generating() {
		return nil, c.offlineErr("query " + path)
	}
	res, err := c.rpc.ABCIQueryWithOptions(ctx, path, data, rpcclient.ABCIQueryOptions{Prove: prove, Height: height})
	if err != nil {
		return nil, c.rpcErr("query "+path, err)
	}
	r := &res.Response
	if r.Code != abci.CodeTypeOK {
		return nil, &QueryError{Path: path, Code: r.Code, Codespace: r.Codespace, Log: r.Log}
	}
	return r, nil
}

// Get reads one stored value (nil when absent) and the state height it was
// read at, without a proof.
func (c *Client) Get(ctx context.Context, key []byte) (value []byte, height int64, err error) {
	r, err := c.query(ctx, chain.PathKey, key, false)
	if err != nil {
		return nil, 0, err
	}
	if len(r.Value) == 0 {
		return nil, r.Height, nil
	}
	return r.Value, r.Height, nil
}

// Range lists the stored pairs under prefix, in key order, and the state
// height they were read at. Long ranges come in pages, all read at the
// height of the first.
func (c *Client) Range(ctx context.Context, prefix []byte) ([]*chainpb.KV, int64, error) {
	var pairs []*chainpb.KV
	path, height := chain.PathRange, int64(0)
	for {
		r, err := c.queryAt(ctx, path, prefix, false, height)
		if err != nil {
			return nil, 0, err
		}
		var page chainpb.Range
		if err := proto.Unmarshal(r.Value, &page); err != nil {
			return nil, 0, fmt.Errorf("client: the node's range answer does not decode: %w", err)
		}
		pairs = append(pairs, page.Pairs...)
		height = r.Height
		if !page.More || len(page.Pairs) == 0 {
			return pairs, height, nil
		}
		path = chain.PathRange + "/after/" + hex.EncodeToString(page.Pairs[len(page.Pairs)-1].Key)
	}
}

func decode[T any, P interface {
	*T
	proto.Message
}](what string, b []byte) (P, error) {
	m := P(new(T))
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("client: the node's %s record does not decode: %w", what, err)
	}
	return m, nil
}

// Member reads a member. An unknown member is an error wrapping ErrNotFound.
func (c *Client) Member(ctx context.Context, id string) (*chainpb.Member, error) {
	v, _, err := c.Get(ctx, chain.MemberKey(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("client: member %q: %w", id, ErrNotFound)
	}
	return decode[chainpb.Member]("member", v)
}

// Members lists every member in ID order.
func (c *Client) Members(ctx context.Context) ([]*chainpb.Member, error) {
	kvs, _, err := c.Range(ctx, chain.MembersPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*chainpb.Member, 0, len(kvs))
	for _, kv := range kvs {
		m, err := decode[chainpb.Member]("member", kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// MemberByKey finds the member whose registered key is pub.
func (c *Client) MemberByKey(ctx context.Context, pub ed25519.PublicKey) (*chainpb.Member, error) {
	ms, err := c.Members(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if pub.Equal(ed25519.PublicKey(m.PubKey)) {
			return m, nil
		}
	}
	return nil, fmt.Errorf("client: no member has the key %x: %w", []byte(pub), ErrNotFound)
}

// Params reads the chain parameters.
func (c *Client) Params(ctx context.Context) (*chainpb.Params, error) {
	v, _, err := c.Get(ctx, chain.ParamsKey())
	if err != nil {
		return nil, err
	}
	return decode[chainpb.Params]("params", v)
}

// Anchors reads the trust anchors, parsed (chain.DecodeAnchorSet).
func (c *Client) Anchors(ctx context.Context) ([]*jpki.Anchor, error) {
	v, _, err := c.Get(ctx, chain.AnchorsKey())
	if err != nil {
		return nil, err
	}
	as, err := chain.DecodeAnchorSet(v)
	if err != nil {
		return nil, fmt.Errorf("client: the node's anchors: %w", err)
	}
	return as, nil
}

// Attestation reads an attestation by ID. An unknown ID is an error
// wrapping ErrNotFound.
func (c *Client) Attestation(ctx context.Context, id []byte) (*chainpb.Attestation, error) {
	v, _, err := c.Get(ctx, chain.AttestationKey(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("client: attestation %x: %w", id, ErrNotFound)
	}
	return decode[chainpb.Attestation]("attestation", v)
}

// Status is the answer to "does this subject hold a valid claim of this
// type?".
type Status struct {
	chain.Status
	Subject   []byte
	ClaimType string
	// Height is the state version the record was read at.
	Height int64
	// Time is the time the status was evaluated at: the verified header's
	// time (block Height+1) when Verified, else the node's latest block time.
	// Age is how old Time was when the answer came: a change after it is
	// not in the answer.
	Time time.Time
	Age  time.Duration
	// Verified says the record was checked against a Merkle proof and a
	// light-client-verified header; AppHash is that header's app hash.
	Verified bool
	AppHash  []byte
	// Trust describes the root the header was verified from (Verified only).
	Trust *TrustInfo
	// Record is the claim status record (nil when the subject has none).
	Record *chainpb.ClaimStatus
	// ClaimTypeEntry is the claim type's registry entry at the same height
	// (nil when the type is not registered), proven under the same app hash
	// when Verified. Entry.Attester names who attested; whether that member
	// may still attest the type is chain.AttesterAllowed(ClaimTypeEntry, ...).
	ClaimTypeEntry *chainpb.ClaimType
}

// ClaimStatus answers whether subject (an identity commitment) holds a valid
// claim of claimType: valid, revoked, expired or none. With verify, the
// record is proven against a light-client-verified header and the status is
// computed at that header's time; otherwise the node's word is taken and the
// status computed at its latest block time.
func (c *Client) ClaimStatus(ctx context.Context, subject []byte, claimType string, verify bool) (*Status, error) {
	if len(subject) != 32 {
		return nil, fmt.Errorf("client: a subject commitment is 32 bytes, got %d", len(subject))
	}
	if !chain.ValidClaimType(claimType) {
		return nil, fmt.Errorf("client: claim type %q: want 1-%d characters of a-z 0-9 . _ -", claimType, chain.MaxClaimTypeLen)
	}
	key := chain.ClaimKey(subject, claimType)
	st := &Status{Subject: subject, ClaimType: claimType}
	var value []byte
	var header *cmttypes.Header
	if verify {
		p, err := c.VerifiedGet(ctx, key)
		if err != nil {
			return nil, err
		}
		value, st.Height, st.Time, st.AppHash, st.Verified, st.Trust = p.Value, p.Height, p.Header.Time, p.Header.AppHash, true, p.Trust
		header = p.Header
	} else {
		v, h, err := c.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		ns, err := c.rpc.Status(ctx)
		if err != nil {
			return nil, c.rpcErr("status", err)
		}
		value, st.Height, st.Time = v, h, ns.SyncInfo.LatestBlockTime
	}
	if len(value) > 0 {
		rec, err := decode[chainpb.ClaimStatus]("claim status", value)
		if err != nil {
			return nil, err
		}
		st.Record = rec
	}
	st.Status = chain.StatusOf(st.Record, st.Time.Unix())
	st.Age = c.opts.now().Sub(st.Time)
	if err := c.claimTypeEntry(ctx, st, header); err != nil {
		return nil, err
	}
	return st, nil
}
