package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/idledger/idledger/jpki"
)

// SoftSigner is a software Signer: an RSA key and its certificate held in
// memory, for testnets and tests. It signs exactly as the JPKI applet does.
type SoftSigner struct {
	key     *rsa.PrivateKey
	certDER []byte
}

var _ Signer = (*SoftSigner)(nil)

// NewSoft returns a SoftSigner for key and the DER certificate of its public
// key. It refuses a key that does not match the certificate.
func NewSoft(key *rsa.PrivateKey, certDER []byte) (*SoftSigner, error) {
	if key == nil {
		return nil, errors.New("signer: no private key")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("signer: parsing certificate: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("signer: private key does not match the certificate's public key")
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("signer: invalid private key: %w", err)
	}
	return &SoftSigner{key: key, certDER: bytes.Clone(certDER)}, nil
}

// LoadSoft reads a SoftSigner from a PEM key file (PKCS#8 "PRIVATE KEY" or
// PKCS#1 "RSA PRIVATE KEY") and a PEM certificate file (the first
// CERTIFICATE block).
func LoadSoft(keyPath, certPath string) (*SoftSigner, error) {
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("signer: %s: %w", keyPath, err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	var certDER []byte
	for rest := certPEM; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			certDER = block.Bytes
			break
		}
	}
	if certDER == nil {
		return nil, fmt.Errorf("signer: %s: no PEM CERTIFICATE block", certPath)
	}
	s, err := NewSoft(key, certDER)
	if err != nil {
		return nil, fmt.Errorf("%w (%s, %s)", err, keyPath, certPath)
	}
	return s, nil
}

func parseKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil, errors.New("no PEM private key block")
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, err
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("private key is %T, not RSA", k)
			}
			return rk, nil
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(block.Bytes)
		}
	}
}

// Certificate returns a copy of the DER certificate.
func (s *SoftSigner) Certificate(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return bytes.Clone(s.certDER), nil
}

// SignDigestInfo signs digestInfo as-is with RSA PKCS#1 v1.5, as the JPKI
// applet does. It refuses anything but a SHA-256 DigestInfo
// (jpki.ParseDigestInfo).
func (s *SoftSigner) SignDigestInfo(ctx context.Context, digestInfo []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := jpki.ParseDigestInfo(digestInfo); err != nil {
		return nil, fmt.Errorf("signer: refusing to sign: %w", err)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.Hash(0), digestInfo)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return sig, nil
}
