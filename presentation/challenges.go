package presentation

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/idledger/idledger/internal/atomicfile"
)

// MemChallenges is a ChallengeStore in memory (tests, one-process gates).
type MemChallenges struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

var _ ChallengeStore = (*MemChallenges)(nil)

// NewMemChallenges makes an empty MemChallenges.
func NewMemChallenges() *MemChallenges { return &MemChallenges{seen: map[string]time.Time{}} }

// Use implements ChallengeStore.
func (m *MemChallenges) Use(challenge []byte, expires, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, exp := range m.seen {
		if exp.Before(now) {
			delete(m.seen, k)
		}
	}
	if _, ok := m.seen[string(challenge)]; ok {
		return false, nil
	}
	m.seen[string(challenge)] = expires
	return true, nil
}

// FileChallenges is a ChallengeStore in a small file: one line per
// challenge, "HEX UNIX-EXPIRY". Every Use takes an exclusive lock on the
// file (flock), so several processes of one machine (a gate's CLI calls)
// share it; it drops expired lines and rewrites the file atomically.
type FileChallenges struct {
	Path string
}

var _ ChallengeStore = FileChallenges{}

// MaxChallengeLines bounds the file: a Use that would exceed it fails
// rather than forget a live challenge.
const MaxChallengeLines = 100_000

// Use implements ChallengeStore.
func (f FileChallenges) Use(challenge []byte, expires, now time.Time) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return false, err
	}
	lock, err := os.OpenFile(f.Path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("locking %s: %w", f.Path, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	want := hex.EncodeToString(challenge)
	var keep bytes.Buffer
	n := 0
	if b, err := os.ReadFile(f.Path); err == nil {
		s := bufio.NewScanner(bytes.NewReader(b))
		for s.Scan() {
			h, exp, ok := strings.Cut(s.Text(), " ")
			t, err := strconv.ParseInt(exp, 10, 64)
			if !ok || err != nil {
				return false, fmt.Errorf("%s: bad line %q", f.Path, s.Text())
			}
			if time.Unix(t, 0).Before(now) {
				continue
			}
			if h == want {
				return false, nil
			}
			fmt.Fprintf(&keep, "%s %d\n", h, t)
			n++
		}
	} else if !os.IsNotExist(err) {
		return false, err
	}
	if n >= MaxChallengeLines {
		return false, fmt.Errorf("%s holds %d live challenges, the maximum", f.Path, n)
	}
	fmt.Fprintf(&keep, "%s %d\n", want, expires.Unix())
	if err := atomicfile.WriteFile(f.Path, keep.Bytes(), 0o600); err != nil {
		return false, err
	}
	return true, nil
}
