package chain

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sync/atomic"

	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/internal/memo"
	"github.com/idledger/idledger/jpki"
)

// Env is what the rules know of the world: the block and the transaction's
// place in it. Time is the block time in Unix seconds. (The chain ID is
// checked once, when DecodeTx decodes the transaction for a chain.)
type Env struct {
	Height  int64
	Time    int64
	TxIndex uint32
}

// Event is something a transaction did, reported to clients (ABCI events).
type Event struct {
	Type  string
	Attrs []Attr
}

// Attr is one key/value of an event.
type Attr struct{ Key, Value string }

// Result is what an accepted transaction did.
type Result struct {
	Events []Event
}

// Machine applies transactions. It holds only caches of pure results (parsed
// anchor sets, checked certificates), so one Machine serves CheckTx and
// FinalizeBlock alike and any number of stores.
//
// A Machine is safe for concurrent use: its caches lock, and it never
// changes a *Tx, which stays exactly as DecodeTx made it (a decoded
// transaction is shared between CheckTx, PrepareProposal, ProcessProposal
// and FinalizeBlock, on several goroutines).
type Machine struct {
	anchorSets *memo.Cache[[32]byte, *anchorSet]
	certs      *memo.Cache[[32]byte, certResult]
	// sigs holds signature verdicts: keyed by the transaction's hash, which
	// signature, and the key or certificate it was checked against.
	sigs *memo.Cache[[32]byte, error]
	// keys holds member keys ready to verify with (ed25519.go).
	keys memberKeys
	// lastAnchors is the set anchors returned last: the anchors change
	// rarely, and comparing the stored bytes is cheaper than hashing them
	// (a recheck reads them for every waiting attestation).
	lastAnchors atomic.Pointer[anchorSet]
}

type certResult struct {
	cert *jpki.Certificate
	err  error
}

// NewMachine makes a Machine whose certificate cache holds up to certCache
// checked certificates.
func NewMachine(certCache int) *Machine {
	if certCache < 2 {
		certCache = 2
	}
	return &Machine{
		anchorSets: memo.New[[32]byte, *anchorSet](8),
		certs:      memo.New[[32]byte, certResult](certCache),
		sigs:       memo.New[[32]byte, error](2 * certCache),
		keys:       newMemberKeys(1024),
	}
}

// CacheStats reports the certificate cache's hits and misses.
func (m *Machine) CacheStats() (hits, misses uint64) { return m.certs.Stats() }

// Deliver checks tx against the state and, if every rule holds, applies it.
// A refused transaction returns a *TxError and has written nothing.
func (m *Machine) Deliver(st Store, env Env, tx *Tx) (*Result, error) {
	switch msg := tx.Body.Msg.(type) {
	case *chainpb.TxBody_Attest:
		return m.attest(st, env, tx, msg.Attest)
	case *chainpb.TxBody_RevokeAttestation:
		return m.revokeAttestation(st, env, tx, msg.RevokeAttestation)
	case *chainpb.TxBody_RevokeSubjects:
		return m.revokeSubjects(st, env, tx, msg.RevokeSubjects)
	case *chainpb.TxBody_Propose:
		return m.propose(st, env, tx, msg.Propose)
	case *chainpb.TxBody_Vote:
		return m.vote(st, env, tx, msg.Vote)
	default:
		return nil, refuse(CodeUnknownMessage, "%T is not accepted yet", msg)
	}
}

// signer checks the member that signs tx (see member) and that it holds
// role.
func (m *Machine) signer(st Store, tx *Tx, role string) (*chainpb.Member, error) {
	mem, err := m.member(st, tx)
	if err != nil {
		return nil, err
	}
	if !HasRole(mem, role) {
		return nil, refuse(CodeMissingRole, "member %q is not a %s", mem.Id, role)
	}
	return mem, nil
}

// member checks the member that signs tx: it exists and uses its next
// sequence number. Its signature is checked later, by authenticate, once
// the cheap rules hold.
func (m *Machine) member(st Store, tx *Tx) (*chainpb.Member, error) {
	id := tx.Body.Signer
	mem := GetMember(st, id)
	if mem == nil {
		return nil, refuse(CodeUnknownSigner, "%q is not a member", id)
	}
	if tx.Body.Sequence != mem.Sequence {
		return nil, refuse(CodeBadSequence, "%s sequence %d, expected %d", id, tx.Body.Sequence, mem.Sequence)
	}
	return mem, nil
}

// authenticate checks the member signature of tx against mem's current key
// (a key rotated out no longer verifies anything), once per (transaction,
// key).
func (m *Machine) authenticate(tx *Tx, mem *chainpb.Member) error {
	return m.memberSig(tx, mem.Id, mem.PubKey)
}

func (m *Machine) memberSig(tx *Tx, id string, pub []byte) error {
	key := sigKey('m', tx, pub)
	if err, ok := m.sigs.Get(key); ok {
		return err
	}
	var err error
	if !m.keys.verify(pub, tx.SignBytes, tx.Env.MemberSignature) {
		err = refuse(CodeBadMemberSig, "signature of member %q does not verify", id)
	}
	m.sigs.Put(key, err)
	return err
}

// subjectSig checks the subject's JPKI signature over tx with cert's key,
// once per (transaction, certificate).
func (m *Machine) subjectSig(tx *Tx, cert *jpki.Certificate) error {
	certHash := sha256.Sum256(cert.Raw)
	key := sigKey('s', tx, certHash[:])
	if err, ok := m.sigs.Get(key); ok {
		return err
	}
	var err error
	if e := jpki.VerifySignature(cert.PublicKey, tx.SignBytes, tx.Env.SubjectSignature); e != nil {
		err = fromJPKI(e)
	}
	m.sigs.Put(key, err)
	return err
}

func sigKey(kind byte, tx *Tx, against []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{kind})
	h.Write(tx.Hash[:])
	h.Write(against)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// anchors returns the parsed trust anchors of st.
func (m *Machine) anchors(st Store) *anchorSet {
	raw := st.Get(AnchorsKey())
	if s := m.lastAnchors.Load(); s != nil && bytes.Equal(s.raw, raw) {
		return s
	}
	digest := sha256.Sum256(raw)
	if s, ok := m.anchorSets.Get(digest); ok {
		m.lastAnchors.Store(s)
		return s
	}
	parsed, err := DecodeAnchorSet(raw)
	if err != nil {
		// Genesis and governance admit parsed anchors only: a broken
		// invariant, not a bad input.
		panic(fmt.Sprintf("%v (stored)", err))
	}
	s := &anchorSet{anchors: parsed, digest: digest, raw: bytes.Clone(raw)}
	m.anchorSets.Put(digest, s)
	m.lastAnchors.Store(s)
	return s
}

// checkCert runs the time-independent JPKI checks on a certificate, once per
// (anchor set, policy, certificate).
func (m *Machine) checkCert(st Store, der []byte, allowSigning bool) (*jpki.Certificate, error) {
	return m.checkCertWith(m.anchors(st), der, allowSigning)
}

func (m *Machine) checkCertWith(as *anchorSet, der []byte, allowSigning bool) (*jpki.Certificate, error) {
	h := sha256.New()
	h.Write(as.digest[:])
	if allowSigning {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	h.Write(der)
	var key [32]byte
	h.Sum(key[:0])
	if r, ok := m.certs.Get(key); ok {
		return r.cert, r.err
	}
	c, err := jpki.Check(der, jpki.CheckOptions{Anchors: as.anchors, AllowSigning: allowSigning})
	m.certs.Put(key, certResult{c, err})
	return c, err
}

// subjectCert checks the subject's certificate: the time-independent JPKI
// checks (cached) and its validity at block time. The subject's signature
// is checked later, by subjectSig, once the cheap rules hold.
func (m *Machine) subjectCert(st Store, env Env, der []byte, allowSigning bool) (*jpki.Certificate, error) {
	cert, err := m.checkCert(st, der, allowSigning)
	if err != nil {
		return nil, fromJPKI(err)
	}
	if err := cert.ValidAt(unixTime(env.Time)); err != nil {
		return nil, fromJPKI(err)
	}
	return cert, nil
}
