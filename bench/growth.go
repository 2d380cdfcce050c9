// Package bench measures the application as its state grows: the growth
// benchmark behind `idledger bench growth`. It drives the real app (ABCI
// FinalizeBlock and Commit on an on-disk IAVL tree) with blocks of valid,
// pre-signed attestations that every block verifies in full, and reports,
// at 10,000 attestations and every tenfold after, what a block costs per
// attestation, what the state costs on disk and how long a proven status
// query takes.
//
// Signing (the holders' RSA signatures, the test CA's certificates) happens
// on every core between timed phases, never during one: the figures are the
// app's, not the load generator's. The holders' and the CAs' keys are
// 8-prime RSA-2048 keys signed with internal/fastrsa, about five times
// faster than crypto/rsa with a standard key; their public keys, the
// certificates and the signatures are ordinary RSA-2048 ones, so the app
// verifies exactly what it verifies for any other card.
package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/internal/fastrsa"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/testca"
)

// GrowthOptions configure a growth run.
type GrowthOptions struct {
	// To is the number of attestations to reach (at least First).
	To int
	// First is the first checkpoint (default 10,000); the others follow
	// every tenfold. Smoke tests use a small one.
	First int
	// Dir holds the state database; it must be empty or absent.
	Dir string
	// BlockSize is the number of attestations per block (default 1000).
	BlockSize int
	// Keys is the number of distinct holder RSA keys (default 4). Every
	// subject has its own certificate (its own identity commitment); keys
	// are shared because generating RSA keys is slow and changes nothing
	// the app does.
	Keys int
	// KeyPrimes is the number of primes of every holder and CA key
	// (default 8; at least 2). More primes sign faster (internal/fastrsa);
	// the public keys, and so what the app verifies and what that costs,
	// are RSA-2048 with E = 65537 whatever the count.
	KeyPrimes int
	// PerSubject is how many attestations each subject gets per claim
	// type (default 4, at most the chain's max_attestations_per_claim).
	PerSubject int
	// Workers sign in parallel (default GOMAXPROCS).
	Workers int
	// Progress, if set, is called after every block.
	Progress func(Progress)
	// AppOptions are passed to app.New (DBDir is set from Dir).
	AppOptions app.Options
	// Presigned, if set, is a file of signed transactions: read when it
	// exists (the run then signs nothing), written otherwise. Every
	// transaction is still verified in full by the app.
	Presigned string
}

// Progress is where a run stands.
type Progress struct {
	Attestations int
	Height       int64
	Elapsed      time.Duration
}

// Checkpoint is one measurement. The JSON names are what benchmark scripts
// read.
type Checkpoint struct {
	Attestations int `json:"attestations"`
	// CommitUsPerAttestation is FinalizeBlock plus Commit over the last
	// window of blocks (up to 50: the database compacts in bursts, which a
	// shorter window catches or misses), divided by their attestations, with full
	// verification of each (nothing was seen in CheckTx first).
	CommitUsPerAttestation float64 `json:"commit_us_per_attestation"`
	// CommitCPUUsPerAttestation is the process's CPU time over the same
	// blocks (every core, the database's background compaction included)
	// per attestation: what a busy machine does not inflate.
	CommitCPUUsPerAttestation float64 `json:"commit_cpu_us_per_attestation"`
	// DiskBytesPerAttestation is the state directory's size divided by the
	// attestations (the app's state only: there is no block store here).
	DiskBytesPerAttestation float64 `json:"disk_bytes_per_attestation"`
	// QueryProofUs is the median time of a status query with its ICS23
	// proof (app.Query with prove), over random subjects.
	QueryProofUs float64 `json:"query_proof_us"`
	// MaxRSSMiB is the process's peak resident memory so far (the node
	// cache's share grows with the state until the cache is full).
	MaxRSSMiB float64 `json:"max_rss_mib"`
	Height    int64   `json:"height"`
	DiskBytes int64   `json:"disk_bytes"`
	ElapsedS  float64 `json:"elapsed_s"`
}

// Result is a whole run.
type Result struct {
	Checkpoints []Checkpoint `json:"checkpoints"`
	BlockSize   int          `json:"block_size"`
	Workers     int          `json:"workers"`
	// Where the run's wall time went, in seconds: making the keys, the
	// genesis and the empty state (SetupS); signing the transactions, or
	// reading them from the presigned file (SignS); FinalizeBlock and
	// Commit of every block, the timed phases (BlocksS); the checkpoints'
	// measurements: directory size and status queries (MeasureS).
	SetupS   float64 `json:"setup_s"`
	SignS    float64 `json:"sign_s"`
	BlocksS  float64 `json:"blocks_s"`
	MeasureS float64 `json:"measure_s"`
}

// Errors of Growth.
var (
	// ErrTooFew is returned when To is under the first checkpoint.
	ErrTooFew = errors.New("bench: the run must reach the first checkpoint (10000 unless set)")
	// ErrDirNotEmpty is returned when Dir holds files already.
	ErrDirNotEmpty = errors.New("bench: the state directory is not empty")
)

const (
	chainID    = "idledger-bench"
	attester   = "bench-attester"
	window     = 50 // blocks measured per checkpoint
	chunkSize  = 10 // blocks signed at a time
	querySamps = 301
)

var (
	start      = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	claimTypes = []string{"kyc", "ticket", "fare-eligibility"}
)

// Checkpoints lists the checkpoints a run from first to n takes: first and
// every tenfold after, and n itself when it is not one of them.
func Checkpoints(first, n int) []int {
	var out []int
	for c := first; c > 0 && c <= n; c *= 10 {
		out = append(out, c)
	}
	if len(out) > 0 && out[len(out)-1] != n {
		out = append(out, n)
	}
	return out
}

type world struct {
	cas       []*testca.CA // one per worker: a CA signs one certificate at a time
	holders   []testKey
	memberKey ed25519.PrivateKey
	appState  []byte
	perType   int

	mu       sync.Mutex
	subjects map[int][]byte // subject index -> identity commitment
}

// testKey is a holder's or a CA's key with its fast signer.
type testKey struct {
	key    *rsa.PrivateKey
	signer *fastrsa.Signer
}

func newWorld(o GrowthOptions) (*world, error) {
	w := &world{perType: o.PerSubject, subjects: map[int][]byte{}}
	nCA := min(o.Workers, 8)
	keys := make([]testKey, o.Keys+nCA)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k := &keys[i]
			if k.key, errs[i] = fastrsa.GenerateKey(o.KeyPrimes); errs[i] == nil {
				k.signer, errs[i] = fastrsa.New(k.key)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	st := &genesis.AppState{Params: genesis.DefaultParams()}
	for _, k := range keys[:nCA] {
		// The CA's own certificate is signed once, by crypto/rsa; the
		// holders' certificates by the fast signer of the same key.
		ca, err := testca.New(testca.InitOptions{Now: start.AddDate(-1, 0, 0), Key: k.key})
		if err != nil {
			return nil, err
		}
		ca.Signer = k.signer
		w.cas = append(w.cas, ca)
		st.Anchors = append(st.Anchors, genesis.Anchor{Kind: "auth", Certificate: ca.CertDER})
	}
	w.holders = keys[nCA:]
	seed := sha256.Sum256([]byte("idledger bench attester"))
	w.memberKey = ed25519.NewKeyFromSeed(seed[:])
	if uint32(o.PerSubject) > st.Params.MaxAttestationsPerClaim {
		return nil, fmt.Errorf("bench: %d attestations per subject and claim type is over the chain's limit of %d", o.PerSubject, st.Params.MaxAttestationsPerClaim)
	}
	st.Members = []genesis.Member{{ID: attester, PubKey: w.memberKey.Public().(ed25519.PublicKey), Roles: []string{chain.RoleAttester, chain.RoleGovernor}}}
	st.ClaimTypes = genesis.FoundingClaimTypes(claimTypes, []string{attester}, time.Duration(st.Params.MaxAttestationLifetime))
	if err := st.Validate(); err != nil {
		return nil, err
	}
	var err error
	if w.appState, err = json.Marshal(st); err != nil {
		return nil, err
	}
	return w, nil
}

// subjectOf is the subject of attestation i: consecutive attestations go to
// different subjects, each subject receiving perType of each claim type.
func (w *world) subjectOf(i int) (subject, claim int) {
	perSubject := w.perType * len(claimTypes)
	return i / perSubject, i % perSubject % len(claimTypes)
}

// cert issues subject s's certificate (its own serial, so its own
// commitment) and returns it with the signer of its key.
func (w *world) cert(s int) ([]byte, *fastrsa.Signer, error) {
	holder := w.holders[s%len(w.holders)]
	h, err := w.cas[s%len(w.cas)].Issue(testca.IssueOptions{Name: fmt.Sprintf("s%d", s), Now: start, Key: holder.key})
	if err != nil {
		return nil, nil, err
	}
	c := jpki.Commitment(h.Cert.RawIssuer, h.Cert.SerialNumber)
	w.mu.Lock()
	w.subjects[s] = c[:]
	w.mu.Unlock()
	return h.CertDER, holder.signer, nil
}

// attestTx is attestation i, in the block of blockSize attestations it
// belongs to, about the holder of cert, signed by the holder and the
// attester.
func (w *world) attestTx(i, blockSize int, cert []byte, holder *fastrsa.Signer) ([]byte, error) {
	_, c := w.subjectOf(i)
	height := int64(i/blockSize) + 1
	claim := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	body := &chainpb.TxBody{
		ChainId:  chainID,
		Signer:   attester,
		Sequence: uint64(i),
		Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{
			AuthCertificate: cert,
			ClaimType:       claimTypes[c],
			ClaimHash:       claim[:],
			NotAfter:        blockTime(height).Add(90 * 24 * time.Hour).Unix(),
		}},
	}
	bb, err := chain.EncodeBody(body)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(chain.SignBytes(bb))
	sig, err := holder.SignSHA256(digest[:])
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return chain.EncodeTx(bb, w.memberKey, sig)
}

// signRange signs attestations [from, to) into out, on workers goroutines.
func (w *world) signRange(from, to, workers, blockSize int, out [][]byte) error {
	perSubject := w.perType * len(claimTypes)
	firstS, lastS := from/perSubject, (to-1)/perSubject
	certs := make([][]byte, lastS-firstS+1)
	holders := make([]*fastrsa.Signer, len(certs))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	run := func(n int, job func(int) error) {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range next {
					if err := job(j); err != nil {
						fail(err)
					}
				}
			}()
		}
		for j := range n {
			next <- j
		}
		close(next)
		wg.Wait()
		next = make(chan int)
	}
	run(len(certs), func(j int) (err error) {
		certs[j], holders[j], err = w.cert(firstS + j)
		return err
	})
	if firstErr != nil {
		return firstErr
	}
	run(to-from, func(j int) (err error) {
		s, _ := w.subjectOf(from + j)
		out[j], err = w.attestTx(from+j, blockSize, certs[s-firstS], holders[s-firstS])
		return err
	})
	return firstErr
}

func blockTime(height int64) time.Time { return start.Add(time.Duration(height) * time.Second) }

// Growth runs the benchmark.
func Growth(ctx context.Context, o GrowthOptions) (*Result, error) {
	if o.First <= 0 {
		o.First = 10_000
	}
	if o.To < o.First {
		return nil, ErrTooFew
	}
	if o.BlockSize <= 0 {
		o.BlockSize = 1000
	}
	if o.Keys <= 0 {
		o.Keys = 4
	}
	if o.KeyPrimes == 0 {
		o.KeyPrimes = 8
	}
	if o.PerSubject <= 0 {
		o.PerSubject = 4
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if entries, err := os.ReadDir(o.Dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrDirNotEmpty, o.Dir)
	}
	var (
		w     *world
		pre   *presigned
		err   error
		setup = time.Now()
	)
	if o.Presigned != "" {
		var h *presignedHeader
		if pre, h, err = openPresigned(o.Presigned, o); err != nil {
			return nil, err
		}
		defer pre.close()
		if h != nil {
			w = &world{perType: o.PerSubject, subjects: map[int][]byte{}, appState: h.AppState}
		}
	}
	if w == nil {
		if w, err = newWorld(o); err != nil {
			return nil, err
		}
		if pre != nil {
			if err := pre.writeHeader(presignedHeader{AppState: w.appState, BlockSize: o.BlockSize, PerSubject: o.PerSubject}); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
		}
	}
	ao := o.AppOptions
	ao.DBDir = o.Dir
	a, err := app.New(ao)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: w.appState, InitialHeight: 1, Time: start}); err != nil {
		return nil, err
	}
	res := &Result{BlockSize: o.BlockSize, Workers: o.Workers}
	began := time.Now()
	res.SetupS = began.Sub(setup).Seconds()
	var signing, blocks, measuring time.Duration
	defer func() {
		res.SignS, res.BlocksS, res.MeasureS = signing.Seconds(), blocks.Seconds(), measuring.Seconds()
	}()
	var (
		done    int
		height  int64
		recent  []time.Duration // per block, the last window
		recentC []time.Duration // the same blocks' CPU time
		recentN []int
	)
	// Sign ahead in chunks of window blocks, then apply them: signing and
	// the timed phase never share the cores.
	chunk := o.BlockSize * chunkSize
	buf := make([][]byte, chunk)
	for _, target := range Checkpoints(o.First, o.To) {
		for done < target {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			n := min(chunk, target-done)
			// Chunks are whole blocks except at the very end.
			t0 := time.Now()
			switch {
			case pre != nil && pre.reading():
				err = pre.read(w, done, buf[:n])
			default:
				err = w.signRange(done, done+n, o.Workers, o.BlockSize, buf[:n])
				if err == nil && pre != nil {
					err = pre.write(w, done, buf[:n])
				}
			}
			if err == nil && target-done <= window*o.BlockSize {
				// The blocks that follow are measured: collect the signing's
				// garbage now, or the collector's next cycles (which mark the
				// whole node cache, gigabytes at a million attestations)
				// are charged to the app's blocks.
				runtime.GC()
			}
			signing += time.Since(t0)
			if err != nil {
				return res, err
			}
			for off := 0; off < n; off += o.BlockSize {
				txs := buf[off:min(off+o.BlockSize, n)]
				height++
				t0, c0 := time.Now(), cpuTime()
				fin, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Time: blockTime(height), Txs: txs})
				if err != nil {
					return res, err
				}
				if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
					return res, err
				}
				d, c := time.Since(t0), cpuTime()-c0
				blocks += d
				for i, r := range fin.TxResults {
					if r.Code != 0 {
						return res, fmt.Errorf("bench: block %d tx %d refused (code %d): %s", height, i, r.Code, r.Log)
					}
				}
				done += len(txs)
				recent, recentC, recentN = append(recent, d), append(recentC, c), append(recentN, len(txs))
				if len(recent) > window {
					recent, recentC, recentN = recent[1:], recentC[1:], recentN[1:]
				}
				if o.Progress != nil {
					o.Progress(Progress{Attestations: done, Height: height, Elapsed: time.Since(began)})
				}
			}
		}
		cp := Checkpoint{Attestations: done, Height: height, ElapsedS: time.Since(began).Seconds()}
		t0 := time.Now()
		var total, cpu time.Duration
		var count int
		for i, d := range recent {
			total += d
			cpu += recentC[i]
			count += recentN[i]
		}
		cp.CommitUsPerAttestation = float64(total.Microseconds()) / float64(count)
		cp.CommitCPUUsPerAttestation = float64(cpu.Microseconds()) / float64(count)
		if cp.DiskBytes, err = dirSize(o.Dir); err != nil {
			return res, err
		}
		cp.DiskBytesPerAttestation = float64(cp.DiskBytes) / float64(done)
		cp.MaxRSSMiB = float64(maxRSS()) / (1 << 20)
		if cp.QueryProofUs, err = w.queryMedian(ctx, a, done); err != nil {
			return res, err
		}
		measuring += time.Since(t0)
		res.Checkpoints = append(res.Checkpoints, cp)
	}
	return res, nil
}

// queryMedian times proven status queries for random existing subjects.
func (w *world) queryMedian(ctx context.Context, a *app.App, done int) (float64, error) {
	perSubject := w.perType * len(claimTypes)
	subjects := done / perSubject // those with every claim type
	times := make([]time.Duration, 0, querySamps)
	var rnd [8]byte
	for range querySamps {
		if _, err := rand.Read(rnd[:]); err != nil {
			return 0, err
		}
		s := int(binary.BigEndian.Uint64(rnd[:]) % uint64(subjects))
		key, err := w.claimKey(s, int(rnd[0])%len(claimTypes))
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		r, err := a.Query(ctx, &abci.RequestQuery{Path: chain.PathKey, Data: key, Prove: true})
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if r.Code != 0 || r.ProofOps == nil {
			return 0, fmt.Errorf("bench: status query for subject %d: code %d %s", s, r.Code, r.Log)
		}
		times = append(times, d)
	}
	slices.Sort(times)
	return float64(times[len(times)/2].Nanoseconds()) / 1000, nil
}

// claimKey is the status key of subject s and claim type c.
func (w *world) claimKey(s, c int) ([]byte, error) {
	w.mu.Lock()
	sub := w.subjects[s]
	w.mu.Unlock()
	if sub == nil {
		return nil, fmt.Errorf("bench: no subject %d", s)
	}
	return chain.ClaimKey(sub, claimTypes[c]), nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
