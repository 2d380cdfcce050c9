package node

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idledger/idledger/internal/atomicfile"
)

// ObserversFile lists, relative to a home, the node IDs of observers: nodes
// that are not registered to a validator member but that this node lets
// peer with it (a relying party's replica, a monitoring node). One CometBFT
// node ID (40 hex digits) a line; blank lines and lines starting with # are
// ignored. The file is optional; the node reads it when it starts.
const ObserversFile = "config/observers.txt"

// LoadObservers reads home's ObserversFile; a missing file is no observers.
func LoadObservers(home string) ([]string, error) {
	path := filepath.Join(home, ObserversFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("node: observers: %w", err)
	}
	var ids []string
	s := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id := strings.ToLower(line)
		if raw, err := hex.DecodeString(id); err != nil || len(raw) != 20 {
			return nil, fmt.Errorf("node: %s line %d: %q is not a node ID (40 hex digits)", path, n, line)
		}
		ids = append(ids, id)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	return ids, nil
}

// WriteObservers writes ids as home's ObserversFile, replacing it.
func WriteObservers(home string, ids []string) error {
	var b strings.Builder
	b.WriteString("# Node IDs that may peer with this node besides the validators' nodes.\n")
	for _, id := range ids {
		if raw, err := hex.DecodeString(id); err != nil || len(raw) != 20 {
			return fmt.Errorf("node: observer %q is not a node ID (40 hex digits)", id)
		}
		b.WriteString(strings.ToLower(id) + "\n")
	}
	if err := atomicfile.WriteFile(filepath.Join(home, ObserversFile), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("node: observers: %w", err)
	}
	return nil
}
