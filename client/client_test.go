package client_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/chain/chainpb"
	"github.com/idledger/idledger/client"
	"github.com/idledger/idledger/jpki"
	"github.com/idledger/idledger/node"
	"github.com/idledger/idledger/node/nodetest"
	"github.com/idledger/idledger/testca"
)

// keySigner is a JPKI signer over an in-memory key.
type keySigner struct {
	cert []byte
	key  *rsa.PrivateKey
}

func (s keySigner) Certificate(context.Context) ([]byte, error) { return s.cert, nil }

func (s keySigner) SignDigestInfo(_ context.Context, di []byte) ([]byte, error) {
	d, err := jpki.ParseDigestInfo(di)
	if err != nil {
		return nil, err
	}
	return rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, d)
}

func holderSigner(h *testca.Holder) keySigner { return keySigner{h.CertDER, h.Key} }

// TestClient runs one node and exercises the client against it: attest,
// verified and unverified status, refusals with their codes, and
// verification failures when a man in the middle alters answers.
func TestClient(t *testing.T) {
	t.Parallel()
	e := nodetest.New(t, "client-test")
	holder, err := e.CA.Issue(testca.IssueOptions{Name: "holder1"})
	if err != nil {
		t.Fatal(err)
	}
	e.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	doc, err := cmttypes.GenesisDocFromFile(filepath.Join(e.Home, node.GenesisFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(e.URL, client.WithGenesis(doc))
	if err != nil {
		t.Fatal(err)
	}
	claimHash := sha256.Sum256([]byte("student fare 2026"))
	res, err := c.Attest(ctx, client.AttestRequest{
		Signer:    holderSigner(holder),
		MemberKey: e.MemberKey, // member found by its key
		ClaimType: "student-fare",
		ClaimHash: claimHash[:],
	})
	if err != nil {
		t.Fatal(err)
	}
	subject := jpki.Commitment(holder.Cert.RawIssuer, holder.Cert.SerialNumber)
	if !bytes.Equal(res.Subject, subject[:]) || res.Attester != node.DefaultMemberID || res.Sequence != 0 || len(res.ID) != chain.AttestationIDLen {
		t.Errorf("attest result = %+v", res)
	}
	if d := time.Until(res.NotAfter); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Errorf("default not-after %s is not about 30 days away", res.NotAfter)
	}

	t.Run("verified status", func(t *testing.T) {
		st, err := c.ClaimStatus(ctx, subject[:], "student-fare", true)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != chain.StateValid || !st.Verified || st.Height < res.Height || st.Entry == nil ||
			!bytes.Equal(st.Entry.AttestationId, res.ID) || st.Trust.Source != client.TrustGenesisFile || st.Trust.Height != 1 {
			t.Errorf("status = %+v", st)
		}
		// The answer says how fresh it is: the proving header's time and age.
		if st.Time.IsZero() || st.Age < -time.Minute || st.Age > time.Hour {
			t.Errorf("status time %s, age %s", st.Time, st.Age)
		}
		// A claim the subject does not have: proven absent.
		none, err := c.ClaimStatus(ctx, subject[:], "kyc", true)
		if err != nil || none.State != chain.StateNone || !none.Verified {
			t.Errorf("status of an absent claim = %+v, %v", none, err)
		}
		plain, err := c.ClaimStatus(ctx, subject[:], "student-fare", false)
		if err != nil || plain.State != chain.StateValid || plain.Verified {
			t.Errorf("unverified status = %+v, %v", plain, err)
		}
	})

	t.Run("reads", func(t *testing.T) {
		a, err := c.Attestation(ctx, res.ID)
		if err != nil || !bytes.Equal(a.Subject, subject[:]) || a.ClaimType != "student-fare" || a.Height != res.Height {
			t.Errorf("attestation = %+v, %v", a, err)
		}
		if _, err := c.Attestation(ctx, make([]byte, chain.AttestationIDLen)); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("unknown attestation: %v", err)
		}
		m, err := c.Member(ctx, node.DefaultMemberID)
		if err != nil || m.Sequence != 1 {
			t.Errorf("member = %+v, %v", m, err)
		}
		if _, err := c.Member(ctx, "nobody"); !errors.Is(err, client.ErrNotFound) {
			t.Errorf("unknown member: %v", err)
		}
		p, err := c.Params(ctx)
		if err != nil || p.MaxAttestationLifetime != 365*24*3600 {
			t.Errorf("params = %+v, %v", p, err)
		}
		as, err := c.Anchors(ctx)
		if err != nil || len(as) != 1 || !bytes.Equal(as[0].Raw, e.CA.CertDER) {
			t.Errorf("anchors = %v, %v", as, err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		other, err := testca.New(testca.InitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stranger, err := other.Issue(testca.IssueOptions{Name: "stranger"})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		expired, err := e.CA.Issue(testca.IssueOptions{Name: "expired", Key: holder.Key, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		// A certificate the chain would refuse is refused before the
		// holder is asked to sign (and so for a PIN), with the chain's code.
		for _, tc := range []struct {
			name  string
			req   client.AttestRequest
			code  chain.Code
			stage string
		}{
			{"wrong chain", client.AttestRequest{Signer: holderSigner(holder), ChainID: "other-chain"}, chain.CodeWrongChainID, "check"},
			{"unknown issuer", client.AttestRequest{Signer: holderSigner(stranger)}, chain.CodeCertUnknownIssuer, client.StageLocal},
			{"expired", client.AttestRequest{Signer: holderSigner(expired), NotAfter: now.Add(time.Hour)}, chain.CodeCertExpired, client.StageLocal},
		} {
			tc.req.MemberKey, tc.req.ClaimType, tc.req.ClaimHash = e.MemberKey, "kyc", claimHash[:]
			s := &countingSigner{Signer: tc.req.Signer}
			tc.req.Signer = s
			_, err := c.Attest(ctx, tc.req)
			var te *client.TxError
			if !errors.As(err, &te) || te.Code != uint32(tc.code) || te.Stage != tc.stage {
				t.Errorf("%s: err = %v, want code %d at stage %s", tc.name, err, tc.code, tc.stage)
			}
			if tc.stage == client.StageLocal && s.signs != 0 {
				t.Errorf("%s: the holder was asked to sign a transaction the chain refuses", tc.name)
			}
		}

		// A replayed sequence: sign with sequence 0 again.
		body, _ := chain.EncodeBody(&chainpb.TxBody{ChainId: "client-test", Signer: node.DefaultMemberID, Sequence: 0,
			Msg: &chainpb.TxBody_Attest{Attest: &chainpb.Attest{AuthCertificate: holder.CertDER, ClaimType: "kyc", ClaimHash: claimHash[:], NotAfter: now.Add(time.Hour).Unix()}}})
		sig, _ := holderSigner(holder).SignDigestInfo(ctx, jpki.DigestInfo(chain.SignBytes(body)))
		tx, _ := chain.EncodeTx(body, e.MemberKey, sig)
		_, err = c.Submit(ctx, tx)
		var te *client.TxError
		if !errors.As(err, &te) || te.Code != uint32(chain.CodeBadSequence) {
			t.Errorf("replayed sequence: %v", err)
		}
	})

	t.Run("tampered answers", func(t *testing.T) {
		for _, mode := range []string{"value", "drop-proof", "appear"} {
			proxy := tamperingProxy(t, e.URL, mode)
			tc, err := client.New(proxy, client.WithGenesis(doc))
			if err != nil {
				t.Fatal(err)
			}
			claim := "student-fare"
			if mode == "appear" {
				claim = "kyc" // absent: the proxy makes a value appear
			}
			st, err := tc.ClaimStatus(ctx, subject[:], claim, true)
			t.Logf("%s: %v", mode, err)
			if !errors.Is(err, client.ErrVerification) {
				t.Errorf("%s: status = %+v, err = %v; want a verification error", mode, st, err)
			}
		}
	})

	t.Run("wrong genesis", func(t *testing.T) {
		fake := *doc
		fake.Validators = []cmttypes.GenesisValidator{{PubKey: cmttypes.NewMockPV().PrivKey.PubKey(), Power: 10}}
		tc, err := client.New(e.URL, client.WithGenesis(&fake))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.ClaimStatus(ctx, subject[:], "student-fare", true); !logged(t, err) || !errors.Is(err, client.ErrVerification) {
			t.Errorf("status with a foreign genesis: %v", err)
		}
		fake = *doc
		fake.ChainID = "another"
		tc, _ = client.New(e.URL, client.WithGenesis(&fake))
		if _, err := tc.ClaimStatus(ctx, subject[:], "student-fare", true); !logged(t, err) || !errors.Is(err, client.ErrVerification) {
			t.Errorf("status with another chain's genesis: %v", err)
		}
		// A week and a day later the genesis checkpoint is past the
		// default trusting period.
		later := func() time.Time { return time.Now().Add(client.DefaultTrustPeriod + 24*time.Hour) }
		tc, _ = client.New(e.URL, client.WithGenesis(doc), client.WithClock(later))
		if _, err := tc.ClaimStatus(ctx, subject[:], "student-fare", true); !logged(t, err) || !errors.Is(err, client.ErrVerification) {
			t.Errorf("status from an expired checkpoint: %v", err)
		}
		// A checkpoint hash that is not the chain's.
		tc, _ = client.New(e.URL, client.WithTrustedHeader(1, bytes.Repeat([]byte{7}, 32)))
		if _, err := tc.ClaimStatus(ctx, subject[:], "student-fare", true); !logged(t, err) || !errors.Is(err, client.ErrVerification) {
			t.Errorf("status from a wrong checkpoint: %v", err)
		}
	})
}

// tamperingProxy forwards JSON-RPC to target and alters abci_query answers:
// "value" flips a byte of the value, "drop-proof" removes the proof, and
// "appear" gives an absent key a value.
func tamperingProxy(t *testing.T, target, mode string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := http.Post(target+r.URL.Path, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var req struct{ Method string }
		_ = json.Unmarshal(body, &req)
		if req.Method == "abci_query" {
			out = tamper(t, out, mode)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func tamper(t *testing.T, out []byte, mode string) []byte {
	var msg map[string]any
	if err := json.Unmarshal(out, &msg); err != nil {
		t.Errorf("proxy: %v", err)
		return out
	}
	res, _ := msg["result"].(map[string]any)
	r, _ := res["response"].(map[string]any)
	if r == nil {
		return out
	}
	switch mode {
	case "value":
		if v, _ := r["value"].(string); v != "" {
			b, _ := base64.StdEncoding.DecodeString(v)
			b[len(b)-1] ^= 1
			r["value"] = base64.StdEncoding.EncodeToString(b)
		}
	case "drop-proof":
		delete(r, "proofOps")
	case "appear":
		if v, _ := r["value"].(string); v == "" {
			cs := []byte{0x0a, 0x01, 0x00}
			r["value"] = base64.StdEncoding.EncodeToString(cs)
		}
	}
	b, _ := json.Marshal(msg)
	return b
}

func logged(t *testing.T, err error) bool {
	t.Helper()
	t.Log(err)
	return true
}
