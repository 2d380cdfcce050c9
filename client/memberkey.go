package client

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/idledger/idledger/internal/atomicfile"
)

// MarshalMemberKey encodes a member's ed25519 private key as a PEM "PRIVATE
// KEY" block (PKCS#8), the format of HOME/config/member_key.pem.
func MarshalMemberKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("client: encoding member key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseMemberKey decodes a PEM PKCS#8 ed25519 private key.
func ParseMemberKey(pemBytes []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("client: member key: no PEM block found")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("client: member key: PEM block is %q, want PRIVATE KEY (PKCS#8)", block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("client: member key: unexpected data after the PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("client: member key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("client: member key: a %T, want ed25519", k)
	}
	return ek, nil
}

// ReadMemberKey reads a member key file written by idledger init.
func ReadMemberKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client: member key: %w", err)
	}
	k, err := ParseMemberKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return k, nil
}

// WriteMemberKey writes key to path (mode 0600), refusing to overwrite an
// existing file.
func WriteMemberKey(path string, key ed25519.PrivateKey) error {
	b, err := MarshalMemberKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteNew(path, b, 0o600); err != nil {
		return fmt.Errorf("client: member key: %w", err)
	}
	return nil
}
