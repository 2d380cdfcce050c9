package testutil

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"sync"
	"time"
)

var (
	holdersMu sync.Mutex
	holders   = map[string]holder{}
)

type holder struct {
	key  *rsa.PrivateKey
	cert []byte
}

// Holder returns an RSA-2048 key and a self-signed certificate (C=JP,
// CN=cn, valid 2025–2030, digital signature) that stand for a JPKI card
// holder where the chain's test CA is not needed (a signer or card test
// checks signatures, not certificate chains). Key generation is slow, so
// each cn gets one key per test binary; callers must not modify it.
func Holder(cn string) (*rsa.PrivateKey, []byte) {
	holdersMu.Lock()
	defer holdersMu.Unlock()
	if h, ok := holders[cn]; ok {
		return h.key, h.cert
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	serial := sha256.Sum256([]byte(cn))
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(serial[:8]),
		Subject:      pkix.Name{Country: []string{"JP"}, CommonName: cn},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	holders[cn] = holder{k, der}
	return k, der
}
