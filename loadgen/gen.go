package loadgen

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/signer"
	"github.com/idledger/idledger/testca"
	"github.com/idledger/idledger/testnet"
)

// loadTx is one prepared transaction and what happened to it.
type loadTx struct {
	raw    []byte
	target int // index into the run's targets
	lane   int // the sender (member, node) that sends it
	// For checks: the subject commitment and claim type (idledger), or the
	// key and value (kvstore).
	subject   []byte
	claimType string

	sentAt    time.Time
	sent      bool
	checkCode uint32
	checkLog  string
	rpcErr    string

	committed   bool
	committedAt time.Time
	height      int64
	code        uint32
	log         string
}

// generator prepares a run's transactions.
type generator struct {
	m        *testnet.Manifest
	opts     LoadOptions
	run      string
	total    int
	progress io.Writer

	// idledger
	ca         *testca.CA
	holders    []*testca.Holder
	signers    []signer.Signer
	memberKeys [][]byte // ed25519 private keys, by lane
	members    []string // by lane
	seq0       []uint64 // by lane
	notAfter   int64

	// lanes are the senders: lane l sends to target l % len(opts.Nodes),
	// signed by its own member (idledger), so that a node gets several
	// ordered streams at once.
	lanes int
}

// setLanes counts the senders: each target node's organisation plus its
// load members (as many as every target has).
func (g *generator) setLanes() {
	per := 1 + testnet.LoadMembersPerNode
	for _, i := range g.opts.Nodes {
		per = min(per, 1+len(g.m.Nodes[i].LoadMembers))
	}
	g.lanes = per * len(g.opts.Nodes)
}

// laneMember names lane l's member and node index.
func (g *generator) laneMember(l int) (member string, nodeIdx, j int) {
	n := len(g.opts.Nodes)
	nodeIdx, j = g.opts.Nodes[l%n], l/n
	if j == 0 {
		return g.m.Nodes[nodeIdx].Member, nodeIdx, 0
	}
	return g.m.Nodes[nodeIdx].LoadMembers[j-1], nodeIdx, j
}

func (g *generator) setup(ctx context.Context) error {
	var err error
	if g.ca, err = testca.Load(filepath.Join(g.opts.Dir, g.m.CADir)); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	for _, name := range g.m.Holders {
		h, err := testca.LoadHolder(filepath.Join(g.opts.Dir, g.m.CADir), name)
		if err != nil {
			return fmt.Errorf("loadgen: %w", err)
		}
		s, err := signer.NewSoft(h.Key, h.CertDER)
		if err != nil {
			return fmt.Errorf("loadgen: holder %s: %w", name, err)
		}
		g.holders = append(g.holders, h)
		g.signers = append(g.signers, s)
	}
	g.notAfter = time.Now().Add(7 * 24 * time.Hour).Unix()
	g.setLanes()
	if g.m.App != testnet.AppIdledger {
		return nil
	}
	for l := range g.lanes {
		id, i, j := g.laneMember(l)
		var key ed25519.PrivateKey
		var err error
		if j == 0 {
			key, err = g.m.MemberKey(g.opts.Dir, i)
		} else {
			key, err = g.m.LoadMemberKey(g.opts.Dir, i, j)
		}
		if err != nil {
			return err
		}
		c, err := client.New(g.m.Nodes[i].RPCURL())
		if err != nil {
			return err
		}
		mem, err := c.Member(ctx, id)
		if err != nil {
			return fmt.Errorf("loadgen: reading member %s's sequence from %s: %w", id, g.m.Nodes[i].Name, err)
		}
		g.memberKeys = append(g.memberKeys, key)
		g.members = append(g.members, mem.Id)
		g.seq0 = append(g.seq0, mem.Sequence)
	}
	return nil
}

// prepare builds every transaction on every core, reporting progress.
func (g *generator) prepare(ctx context.Context) ([]*loadTx, error) {
	txs := make([]*loadTx, g.total)
	if g.m.App != testnet.AppIdledger {
		sample, err := g.attestTx(ctx, nil, 0)
		if err != nil {
			return nil, err
		}
		for k := range txs {
			txs[k] = g.kvTx(k, len(sample.raw))
		}
		return txs, nil
	}
	fmt.Fprintf(g.progress, "pre-signing %d Attest transactions on %d cores, each about a new card\n", g.total, runtime.NumCPU())
	var next, done atomic.Int64
	errs := make(chan error, runtime.NumCPU())
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An in-memory CA of its own per worker: CA.Issue signs under a lock.
			ca := &testca.CA{Cert: g.ca.Cert, CertDER: g.ca.CertDER, Key: g.ca.Key}
			for {
				k := int(next.Add(1) - 1)
				if k >= g.total || ctx.Err() != nil {
					return
				}
				tx, err := g.attestTx(ctx, ca, k)
				if err != nil {
					errs <- err
					return
				}
				txs[k] = tx
				done.Add(1)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			select {
			case err := <-errs:
				return nil, err
			default:
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return txs, nil
		case <-tick.C:
			n := done.Load()
			fmt.Fprintf(g.progress, "  signed %d of %d (%d%%)\n", n, g.total, 100*n/int64(g.total))
		}
	}
}

// attestTx builds transaction k: lane k%lanes, holder k%len(holders). With
// ca nil it builds a sample for its size (sequence 0, holder 1's
// certificate).
func (g *generator) attestTx(ctx context.Context, ca *testca.CA, k int) (*loadTx, error) {
	h := k % len(g.holders)
	holder := g.holders[h]
	certDER := holder.CertDER
	claimType := testnet.LoadClaimType
	var target, lane int
	var seq uint64
	var memberKey []byte
	member := "org0"
	if ca != nil {
		lane = k % g.lanes
		target = lane % len(g.opts.Nodes)
		seq = g.seq0[lane] + uint64(k/g.lanes)
		memberKey, member = g.memberKeys[lane], g.members[lane]
		// A certificate of its own, issued by the test CA for one of the
		// holders' keys: every attestation is about a new card, as in
		// production, and the node verifies every chain.
		c, err := ca.Issue(testca.IssueOptions{Name: fmt.Sprintf("load-%s-%d", g.run, k), Key: holder.Key})
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		certDER = c.CertDER
	}
	claim := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(g.run), uint64(k)))
	body, err := chain.EncodeBody(&chainpb.TxBody{
		ChainId:  g.m.ChainID,
		Signer:   member,
		Sequence: seq,
		Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{
			AuthCertificate: certDER,
			ClaimType:       claimType,
			ClaimHash:       claim[:],
			NotAfter:        g.notAfter,
		}},
	})
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(ctx, g.signers[h], chain.SignBytes(body))
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if memberKey == nil {
		memberKey = make([]byte, 64) // a sample: any key makes a signature of the right size
	}
	raw, err := chain.EncodeTx(body, memberKey, sig)
	if err != nil {
		return nil, err
	}
	tx := &loadTx{raw: raw, target: target, lane: lane, claimType: claimType}
	if cert, err := x509.ParseCertificate(certDER); err == nil {
		c := jpki.Commitment(cert.RawIssuer, cert.SerialNumber)
		tx.subject = c[:]
	}
	return tx, nil
}

// kvTx is kvstore transaction k: "load-RUN-K=" and random hex up to size
// bytes.
func (g *generator) kvTx(k, size int) *loadTx {
	key := fmt.Sprintf("load-%s-%d", g.run, k)
	vlen := max(size-len(key)-1, 1)
	v := make([]byte, (vlen+1)/2)
	_, _ = rand.Read(v)
	value := hex.EncodeToString(v)[:vlen]
	lane := k % g.lanes
	return &loadTx{raw: []byte(key + "=" + value), target: lane % len(g.opts.Nodes), lane: lane, subject: []byte(key), claimType: value}
}
