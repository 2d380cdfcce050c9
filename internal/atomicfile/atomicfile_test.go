package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "two" {
		t.Fatalf("got %q, %v; want two", b, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", st.Mode().Perm())
	}
	if n := leftovers(t, dir); len(n) != 1 {
		t.Fatalf("directory holds %v, want only f", n)
	}
}

func TestFailedWriteLeavesOldFile(t *testing.T) {
	boom := errors.New("disk full")
	for _, tc := range []struct {
		name string
		set  func()
	}{
		{"write", func() { writeData = func(f *os.File, d []byte) error { f.Write(d[:1]); return boom } }},
		{"sync", func() { syncFile = func(*os.File) error { return boom } }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, s := writeData, syncFile
			defer func() { writeData, syncFile = w, s }()
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if err := WriteFile(p, []byte("old contents"), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.set()
			err := WriteFile(p, []byte("new contents that never land"), 0o600)
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want %v", err, boom)
			}
			b, _ := os.ReadFile(p)
			if string(b) != "old contents" {
				t.Fatalf("file now %q, want the old contents", b)
			}
			if n := leftovers(t, dir); len(n) != 1 {
				t.Fatalf("directory holds %v, want only f (no temp file left)", n)
			}
			// A failed first write leaves no file at all.
			q := filepath.Join(dir, "g")
			if err := WriteNew(q, []byte("x"), 0o600); err == nil {
				t.Fatal("WriteNew succeeded with a failing disk")
			}
			if _, err := os.Stat(q); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("stat after failed WriteNew: %v, want not exist", err)
			}
		})
	}
}

func TestWriteNewRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := WriteNew(p, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteNew(p, []byte("second"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "first" {
		t.Fatalf("file now %q, want first", b)
	}
	if n := leftovers(t, dir); len(n) != 1 {
		t.Fatalf("directory holds %v, want only key", n)
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such"), []byte("x"), 0o600)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}
