package verifier

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"google.golang.org/protobuf/proto"

	"github.com/idledger/idledger/chain"
	"github.com/idledger/idledger/feed"
	"github.com/idledger/idledger/feed/feedpb"
	"github.com/idledger/idledger/internal/atomicfile"
)

// Store is a verifier's directory:
//
//	DIR/head.pb                 VerifiedHead: the latest verified header and validators
//	DIR/keys/XX/HEXKEY.pb       StoredClaim: one proven record per key (XX: a shard)
//	DIR/lock                    held (flock) by the one process that writes
//
// Every file is replaced atomically (write, fsync, rename), records before
// the head, so a reader (verifier check, another process) never sees a torn
// file and a crash at worst re-applies the last update. Readers take no
// lock: checks work while verifier run writes.
type Store struct {
	dir  string
	lock *os.File
}

// ErrNoHead is returned by Store.Head for a store that holds no verified
// block yet.
var ErrNoHead = errors.New("verifier: the store holds no verified block yet (run idledger verifier run)")

// OpenStore opens (making it if needed) the store in dir for writing and
// takes its lock: one writer at a time.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("verifier: %s is in use by another verifier: %w", dir, err)
	}
	return &Store{dir: dir, lock: f}, nil
}

// ReadStore opens the store in dir for reading only.
func ReadStore(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "keys")); err != nil {
		return nil, fmt.Errorf("verifier: %s is not a verifier store: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Close releases the lock.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Head reads the latest verified block (ErrNoHead when there is none).
func (s *Store) Head() (*feedpb.VerifiedHead, *LightState, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "head.pb"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, ErrNoHead
	}
	if err != nil {
		return nil, nil, fmt.Errorf("verifier: %w", err)
	}
	h := new(feedpb.VerifiedHead)
	if err := proto.Unmarshal(b, h); err != nil {
		return nil, nil, fmt.Errorf("verifier: %s/head.pb is corrupt: %w", s.dir, err)
	}
	sh, err := feed.DecodeSignedHeader(h.SignedHeader)
	if err != nil {
		return nil, nil, fmt.Errorf("verifier: %s/head.pb is corrupt: %w", s.dir, err)
	}
	vals, err := feed.DecodeValidators(h.ValidatorSet)
	if err != nil {
		return nil, nil, fmt.Errorf("verifier: %s/head.pb is corrupt: %w", s.dir, err)
	}
	return h, &LightState{Header: sh, Validators: vals}, nil
}

// Get reads the proven record of key, or nil when the store has none.
func (s *Store) Get(key []byte) (*feedpb.StoredClaim, error) {
	b, err := os.ReadFile(s.keyPath(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}
	c := new(feedpb.StoredClaim)
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("verifier: record %x is corrupt: %w", key, err)
	}
	return c, nil
}

func (s *Store) keyPath(key []byte) string {
	shard := sha256.Sum256(key)
	return filepath.Join(s.dir, "keys", hex.EncodeToString(shard[:1]), hex.EncodeToString(key)+".pb")
}

// Save writes verified records, then the new head. A record never goes
// back to an older height.
func (s *Store) Save(st *LightState, claims []*feedpb.StoredClaim, checkpointHeight int64, checkpointHash []byte, verifiedAt int64) error {
	if s.lock == nil {
		return errors.New("verifier: the store is open read-only")
	}
	for _, c := range claims {
		if bytes.Equal(c.Key, chain.ChangesKey()) {
			continue // checked, not kept: the next block's replaces it
		}
		old, err := s.Get(c.Key)
		if err != nil {
			return err
		}
		if old != nil && old.Height > c.Height {
			continue
		}
		b, err := proto.Marshal(c)
		if err != nil {
			return err
		}
		if err := writeAtomic(s.keyPath(c.Key), b); err != nil {
			return err
		}
	}
	sh, err := feed.EncodeSignedHeader(st.Header)
	if err != nil {
		return err
	}
	vals, err := feed.EncodeValidators(st.Validators)
	if err != nil {
		return err
	}
	b, err := proto.Marshal(&feedpb.VerifiedHead{
		ChainId: st.Header.ChainID, SignedHeader: sh, ValidatorSet: vals, VerifiedAt: verifiedAt,
		CheckpointHeight: checkpointHeight, CheckpointHash: checkpointHash,
	})
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(s.dir, "head.pb"), b)
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("verifier: %w", err)
	}
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("verifier: writing %s: %w", path, err)
	}
	return nil
}
