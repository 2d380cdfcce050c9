// Package memberkey is the file format of a member's ed25519 signing key:
// one PEM "PRIVATE KEY" block holding the key as PKCS#8, the format of
// HOME/config/member_key.pem that idledger init writes and the commands
// that sign as a member read.
//
// It is its own package so that the node, the testnet tooling and the load
// generator can write and read member keys without importing the RPC client.
package memberkey

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

// pemType is the PEM block type of a member key file.
const pemType = "PRIVATE KEY"

// Marshal encodes a member's ed25519 private key as a PEM "PRIVATE KEY"
// block (PKCS#8).
func Marshal(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("memberkey: encoding: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), nil
}

// Parse decodes a PEM PKCS#8 ed25519 private key: exactly one "PRIVATE
// KEY" block, nothing but space after it.
func Parse(pemBytes []byte) (ed25519.PrivateKey, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("memberkey: no PEM block found")
	}
	if block.Type != pemType {
		return nil, fmt.Errorf("memberkey: PEM block is %q, want %s (PKCS#8)", block.Type, pemType)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("memberkey: unexpected data after the PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("memberkey: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("memberkey: a %T, want ed25519", k)
	}
	return ek, nil
}

// Read reads a member key file.
func Read(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("memberkey: %w", err)
	}
	k, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return k, nil
}

// Write writes key to path (mode 0600, crash-safe), refusing to overwrite
// an existing file.
func Write(path string, key ed25519.PrivateKey) error {
	b, err := Marshal(key)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteNew(path, b, 0o600); err != nil {
		return fmt.Errorf("memberkey: %w", err)
	}
	return nil
}
