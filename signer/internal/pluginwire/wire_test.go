package pluginwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadFrames(t *testing.T) {
	in := `{"type":"hello","versions":[1]}` + "\n" + `{"type":"bye"}` + "\r\n"
	r := NewReader(iotest.OneByteReader(strings.NewReader(in)))
	m, err := r.ReadMsg()
	if err != nil || m.Type != TypeHello || len(m.Versions) != 1 || m.Versions[0] != 1 {
		t.Fatalf("first: %+v, %v", m, err)
	}
	m, err = r.ReadMsg()
	if err != nil || m.Type != TypeBye {
		t.Fatalf("second: %+v, %v", m, err)
	}
	if _, err := r.ReadMsg(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"truncated", `{"type":"bye"`, io.ErrUnexpectedEOF},
		{"too large", strings.Repeat("a", MaxFrame+10), ErrFrameTooLarge},
		{"too large with newline", strings.Repeat("a", MaxFrame) + "\n", ErrFrameTooLarge},
		{"not json", "hello\n", ErrMalformed},
		{"no type", `{"id":3}` + "\n", ErrMalformed},
		{"array", `[1]` + "\n", ErrMalformed},
		{"bad base64", `{"type":"pin","pin":"@@"}` + "\n", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.in)).ReadMsg()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLargestFrame(t *testing.T) {
	f := `{"type":"x","text":"` + strings.Repeat("a", MaxFrame-len(`{"type":"x","text":""}`)-1) + `"}` + "\n"
	if len(f) != MaxFrame {
		t.Fatalf("test frame is %d bytes", len(f))
	}
	m, err := NewReader(strings.NewReader(f)).ReadMsg()
	if err != nil || m.Type != "x" {
		t.Fatalf("%v", err)
	}
}

func TestWipe(t *testing.T) {
	frame, _ := Encode(&Msg{Type: TypePIN, ID: 1, PIN: []byte("1234")})
	src := append(frame, []byte(`{"type":"ok"}`+"\n")...)
	r := NewReader(bytes.NewReader(src))
	m, err := r.ReadMsg()
	if err != nil || string(m.PIN) != "1234" {
		t.Fatalf("%+v %v", m, err)
	}
	if bytes.Contains(r.buf, []byte("MTIzNA")) { // base64 of 1234
		t.Fatal("PIN frame still in the reader's buffer")
	}
	if line := LogLine(m); strings.Contains(line, "MTIzNA") || !strings.Contains(line, "redacted") {
		t.Fatalf("LogLine leaks: %s", line)
	}
}

func TestEncodePIN(t *testing.T) {
	for _, pin := range [][]byte{[]byte("1234"), []byte("12345678"), {0, 0xFF, '"', '\\'}} {
		m := &Msg{Type: TypePIN, ID: 7, PIN: pin}
		frame, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.PIN == nil || !bytes.HasSuffix(frame, []byte("\"}\n")) || !json.Valid(frame) {
			t.Fatalf("frame %q", frame)
		}
		got, err := Decode(bytes.TrimSuffix(frame, []byte("\n")))
		if err != nil || got.Type != TypePIN || got.ID != 7 || !bytes.Equal(got.PIN, pin) {
			t.Fatalf("decoded %+v, %v", got, err)
		}
		want, _ := json.Marshal(m)
		var a, b map[string]any
		json.Unmarshal(frame, &a)
		json.Unmarshal(want, &b)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("frame %s, encoding/json gives %s", frame, want)
		}
	}
	if _, err := Encode(&Msg{Type: TypePIN, PIN: make([]byte, MaxFrame)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("huge PIN: %v", err)
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	m, err := Decode([]byte(`{"type":"hello","versions":[1,2],"future":{"x":1}}`))
	if err != nil || m.Type != TypeHello {
		t.Fatal(err)
	}
}

// chunkReader returns the input in chunks whose sizes come from the input.
type chunkReader struct {
	data  []byte
	sizes []byte
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[0])*31 + 1
		c.sizes = c.sizes[1:]
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte(`{"type":"hello","versions":[1]}`+"\n"+`{"type":"bye"}`+"\n"), []byte{0, 1, 2})
	f.Add([]byte(`{"type":"pin","id":1,"pin":"MTIzNA=="}`+"\n"), []byte{255})
	f.Add([]byte("\n\n{}\n"), []byte{})
	f.Add([]byte(`{"type":"error","code":"wrong_pin","tries_left":2}`), []byte{3})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		r := NewReader(&chunkReader{data: append([]byte(nil), data...), sizes: sizes})
		var got []byte
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				if err == io.EOF && !bytes.Equal(got, data) {
					t.Fatalf("clean EOF after %d of %d bytes", len(got), len(data))
				}
				break
			}
			if len(fr) >= MaxFrame || bytes.IndexByte(fr, '\n') >= 0 {
				t.Fatalf("bad frame of %d bytes", len(fr))
			}
			got = append(append(got, fr...), '\n')
			if !bytes.HasPrefix(data, got) {
				t.Fatal("frames do not match the input")
			}
			if m, err := Decode(fr); err == nil {
				if m.Type == "" {
					t.Fatal("decoded a message without a type")
				}
				enc, err := Encode(m)
				if err != nil && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("re-encode: %v", err)
				}
				if err == nil {
					// Encode's own "pin" writing must round-trip.
					m2, err := Decode(bytes.TrimSuffix(enc, []byte("\n")))
					if err != nil || !bytes.Equal(m2.PIN, m.PIN) || m2.Type != m.Type || m2.ID != m.ID {
						t.Fatalf("re-encoded %q does not decode back: %v", enc, err)
					}
				}
				_ = LogLine(m)
			}
		}
	})
}
