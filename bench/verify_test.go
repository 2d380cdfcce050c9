package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/idledger/idledger/app"
	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/genesis"
	"github.com/idledger/idledger/jpki"
)

// The bench's transactions are what the app verifies for any card: the
// holders' and the CAs' keys are RSA-2048 with E = 65537 (8 primes behind
// them), each certificate passes jpki.Check against the genesis anchors,
// each holder signature is the very bytes crypto/rsa makes and verifies with
// jpki.VerifySignature, and the app accepts them all and refuses a tampered
// holder signature and a tampered certificate with the codes it gives any
// card.
func TestBenchTransactionsVerifyAsAnyCard(t *testing.T) {
	w, err := newWorld(GrowthOptions{Keys: 2, KeyPrimes: 8, PerSubject: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range w.holders {
		checkKey(t, "holder", k.key)
	}
	for _, ca := range w.cas {
		checkKey(t, "CA", ca.Key)
	}

	const n = 30 // block 1: attestations 0..n-1; block 2: attestation n
	txs := make([][]byte, n+1)
	if err := w.signRange(0, n+1, 2, n, txs); err != nil {
		t.Fatal(err)
	}
	var st genesis.AppState
	if err := json.Unmarshal(w.appState, &st); err != nil {
		t.Fatal(err)
	}
	var anchors []*jpki.Anchor
	for _, a := range st.Anchors {
		anchor, err := jpki.ParseAnchor(a.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		anchors = append(anchors, anchor)
	}
	if len(anchors) != len(w.cas) {
		t.Fatalf("%d anchors for %d CAs", len(anchors), len(w.cas))
	}
	for i, raw := range txs {
		tx, err := chain.DecodeTx(raw, chainID)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		cert, err := jpki.Check(tx.Body.GetAttest().AuthCertificate, jpki.CheckOptions{Anchors: anchors})
		if err != nil {
			t.Fatalf("tx %d: certificate: %v", i, err)
		}
		if cert.PublicKey.N.BitLen() != 2048 || cert.PublicKey.E != 65537 {
			t.Fatalf("tx %d: the holder key is %d bits, E = %d", i, cert.PublicKey.N.BitLen(), cert.PublicKey.E)
		}
		if err := jpki.VerifySignature(cert.PublicKey, tx.SignBytes, tx.Env.SubjectSignature); err != nil {
			t.Fatalf("tx %d: holder signature: %v", i, err)
		}
		s, _ := w.subjectOf(i)
		key := w.holders[s%len(w.holders)].key
		digest := sha256.Sum256(tx.SignBytes)
		want, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tx.Env.SubjectSignature, want) {
			t.Fatalf("tx %d: the holder signature is not crypto/rsa's", i)
		}
	}

	// Attestation n, tampered two ways (the same sequence: a refused
	// transaction does not use it up).
	last, err := chain.DecodeTx(txs[n], chainID)
	if err != nil {
		t.Fatal(err)
	}
	badSig := bytes.Clone(last.Env.SubjectSignature)
	badSig[7] ^= 1
	sigTampered, err := chain.EncodeTx(last.Env.Body, w.memberKey, badSig)
	if err != nil {
		t.Fatal(err)
	}
	badCert := bytes.Clone(last.Body.GetAttest().AuthCertificate)
	badCert[len(badCert)-1] ^= 1 // the CA's signature
	s, _ := w.subjectOf(n)
	certTampered, err := w.attestTx(n, n, badCert, w.holders[s%len(w.holders)].signer)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	a, err := app.New(app.Options{DBDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: w.appState, InitialHeight: 1, Time: start}); err != nil {
		t.Fatal(err)
	}
	block := func(h int64, txs [][]byte, want ...chain.Code) {
		t.Helper()
		fin, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Time: blockTime(h), Txs: txs})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range fin.TxResults {
			if r.Code != uint32(want[i]) {
				t.Errorf("block %d tx %d: code %d (%s), want %d", h, i, r.Code, r.Log, want[i])
			}
		}
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
	}
	accepted := make([]chain.Code, n)
	block(1, txs[:n], accepted...)
	block(2, [][]byte{sigTampered, certTampered, txs[n]}, chain.CodeBadSubjectSig, chain.CodeCertBadSignature, 0)
}

func checkKey(t *testing.T, who string, k *rsa.PrivateKey) {
	t.Helper()
	if len(k.Primes) != 8 || k.N.BitLen() != 2048 || k.E != 65537 {
		t.Fatalf("%s key: %d primes, %d bits, E = %d; want 8 primes, 2048 bits, 65537", who, len(k.Primes), k.N.BitLen(), k.E)
	}
}
