// Package atomicfile writes files crash-safe: the data goes to a temporary
// file in the same directory, which is synced and then renamed (or linked)
// into place, and the directory is synced. A reader, or a node restarted
// after a crash at any byte, sees either the old file or the whole new one,
// never a torn mix or an empty file.
//
// Every file idledger's node and CLI write goes through here, except
// append-only logs.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrExist is returned (wrapped) by WriteNew when the path already exists.
// errors.Is(err, fs.ErrExist) also holds.
var ErrExist = fs.ErrExist

// Hooks replaced by tests to inject failures between the steps.
var (
	writeData = func(f *os.File, data []byte) error { _, err := f.Write(data); return err }
	syncFile  = func(f *os.File) error { return f.Sync() }
)

// WriteFile replaces path with data, mode perm. If it returns an error the
// file at path is unchanged (the old contents, or still absent).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("atomicfile: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// WriteNew writes data to path, mode perm, refusing (with an error that
// satisfies errors.Is(err, fs.ErrExist)) when path already exists: for keys
// and other files that must never be overwritten. No partial file is ever
// visible at path.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link is atomic and, unlike rename, fails if the target exists.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("atomicfile: %s already exists; refusing to overwrite it: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// writeTemp writes data to a new synced temporary file beside path and
// returns its name. On error nothing is left behind.
func writeTemp(path string, data []byte, perm os.FileMode) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("atomicfile: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return "", fmt.Errorf("atomicfile: %w", err)
	}
	if err := writeData(f, data); err != nil {
		return "", fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err := syncFile(f); err != nil {
		return "", fmt.Errorf("atomicfile: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	return f.Name(), nil
}

// syncDir makes the rename durable. File systems that cannot sync a
// directory (EINVAL) are accepted: they give no stronger guarantee anyway.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("atomicfile: syncing %s: %w", dir, err)
	}
	return nil
}
