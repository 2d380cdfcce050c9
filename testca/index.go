package testca

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/idledger/idledger/internal/atomicfile"
	"github.com/idledger/idledger/jpki"
)

// index is the CA's state: every serial it issued. Revocation will add fields
// to entries.
type index struct {
	Version int `json:"version"`
	// CRLNumber is the number of the last CRL published.
	CRLNumber int64        `json:"crl_number,omitempty"`
	Kind      string       `json:"kind"`
	Issued    []indexEntry `json:"issued"`

	serials map[string]bool
}

type indexEntry struct {
	Serial    string    `json:"serial"` // lower-case hex, big.Int.Text(16)
	Name      string    `json:"name"`
	Profile   string    `json:"profile"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// RevokedAt is set once the holder's certificate is revoked.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func newIndex(kind jpki.Kind) index {
	return index{Version: 1, Kind: kind.String(), Issued: []indexEntry{}, serials: map[string]bool{}}
}

func (ca *CA) loadIndex() error {
	path := filepath.Join(ca.Dir, IndexFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("testca: %w", err)
	}
	var ix index
	if err := json.Unmarshal(data, &ix); err != nil {
		return fmt.Errorf("testca: %s: %w", path, err)
	}
	if ix.Version != 1 {
		return fmt.Errorf("testca: %s: unknown version %d", path, ix.Version)
	}
	ix.serials = make(map[string]bool, len(ix.Issued))
	for _, e := range ix.Issued {
		ix.serials[e.Serial] = true
	}
	ca.index = ix
	return nil
}

// saveIndex writes index.json atomically; in-memory CAs keep it in memory.
func (ca *CA) saveIndex() error {
	if ca.Dir == "" {
		return nil
	}
	data, err := json.MarshalIndent(&ca.index, "", "  ")
	if err != nil {
		return fmt.Errorf("testca: %w", err)
	}
	path := filepath.Join(ca.Dir, IndexFile)
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("testca: %w", err)
	}
	return nil
}
