package bench

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// A presigned file keeps a run's signed transactions for the next run, so
// that comparing two builds or two settings does not sign everything again.
// The app still verifies every transaction in FinalizeBlock: a new state
// directory has seen none of them. The file is a gob stream: a
// presignedHeader, then one presignedChunk per chunk of blocks.

type presignedHeader struct {
	AppState   []byte
	BlockSize  int
	PerSubject int
}

type presignedChunk struct {
	From     int
	Txs      [][]byte
	Subjects map[int][]byte
}

// presigned reads or writes a presigned file.
type presigned struct {
	f   *os.File
	bw  *bufio.Writer
	enc *gob.Encoder
	dec *gob.Decoder
	// reading: the attestations the file holds from next on are read
	// chunk by chunk; pending holds what was read and not used.
	pending [][]byte
	next    int
}

// openPresigned opens path for reading when it exists (its header must
// match o), or creates it for writing.
func openPresigned(path string, o GrowthOptions) (*presigned, *presignedHeader, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("bench: %w", err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		return &presigned{f: f, bw: bw, enc: gob.NewEncoder(bw)}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	p := &presigned{f: f, dec: gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))}
	var h presignedHeader
	if err := p.dec.Decode(&h); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("bench: presigned file %s: %w", path, err)
	}
	if h.BlockSize != o.BlockSize || h.PerSubject != o.PerSubject {
		f.Close()
		return nil, nil, fmt.Errorf("bench: presigned file %s has blocks of %d and %d per subject, not %d and %d", path, h.BlockSize, h.PerSubject, o.BlockSize, o.PerSubject)
	}
	return p, &h, nil
}

func (p *presigned) reading() bool { return p.dec != nil }

// read fills out with attestations [from, from+len(out)) and records their
// subjects in w.
func (p *presigned) read(w *world, from int, out [][]byte) error {
	for len(out) > 0 {
		if len(p.pending) == 0 {
			var c presignedChunk
			if err := p.dec.Decode(&c); err != nil {
				if errors.Is(err, io.EOF) {
					return fmt.Errorf("bench: the presigned file ends at %d attestations", p.next)
				}
				return fmt.Errorf("bench: presigned file: %w", err)
			}
			if c.From != p.next {
				return fmt.Errorf("bench: presigned file: chunk at %d, want %d", c.From, p.next)
			}
			w.mu.Lock()
			for s, c := range c.Subjects {
				w.subjects[s] = c
			}
			w.mu.Unlock()
			p.pending = c.Txs
		}
		if p.next != from {
			return fmt.Errorf("bench: presigned file: at %d, want %d", p.next, from)
		}
		n := copy(out, p.pending)
		p.pending, out = p.pending[n:], out[n:]
		p.next += n
		from += n
	}
	return nil
}

func (p *presigned) writeHeader(h presignedHeader) error { return p.enc.Encode(h) }

func (p *presigned) write(w *world, from int, txs [][]byte) error {
	perSubject := w.perType * len(claimTypes)
	subs := map[int][]byte{}
	w.mu.Lock()
	for s := from / perSubject; s <= (from+len(txs)-1)/perSubject; s++ {
		subs[s] = w.subjects[s]
	}
	w.mu.Unlock()
	return p.enc.Encode(presignedChunk{From: from, Txs: txs, Subjects: subs})
}

func (p *presigned) close() error {
	if p.bw != nil {
		if err := p.bw.Flush(); err != nil {
			p.f.Close()
			return fmt.Errorf("bench: %w", err)
		}
		if err := p.f.Sync(); err != nil {
			p.f.Close()
			return fmt.Errorf("bench: %w", err)
		}
	}
	return p.f.Close()
}
