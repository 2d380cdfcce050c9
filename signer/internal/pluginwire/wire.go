// Package pluginwire is the wire format of the idledger signer plugin
// protocol (docs/signer-plugin-protocol.md): frames and messages. The error
// codes are signer.ErrorCode, for plugins to use.
//
// A frame is one JSON object on one line, ending in '\n', at most MaxFrame
// bytes including the newline. Package signer drives the state machine on
// both ends; this package only reads, writes and checks frames.
package pluginwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version this code speaks.
const Version = 1

// MaxFrame is the largest frame, newline included, either side accepts.
const MaxFrame = 64 << 10

// Message types. Requests from the client: Hello, GetCertificate,
// SignDigestInfo, Bye. Replies from the plugin: HelloOK, Certificate,
// Signature, Error. Interactive requests from the plugin while it works on a
// request: AskPIN, Confirm, Message; the client answers PIN, ConfirmResult,
// OK, or Unsupported for a type it does not know.
const (
	TypeHello          = "hello"
	TypeHelloOK        = "hello-ok"
	TypeGetCertificate = "get-certificate"
	TypeSignDigestInfo = "sign-digestinfo"
	TypeBye            = "bye"

	TypeCertificate = "certificate"
	TypeSignature   = "signature"
	TypeError       = "error"

	TypeAskPIN        = "ask-pin"
	TypePIN           = "pin"
	TypeConfirm       = "confirm"
	TypeConfirmResult = "confirm-result"
	TypeMessage       = "message"
	TypeOK            = "ok"
	TypeUnsupported   = "unsupported"
)

// Msg is every message of the protocol: one struct, fields used by type.
// Unknown fields are ignored on decoding (see the protocol's rules).
type Msg struct {
	Type string `json:"type"`
	// ID ties a reply and the interactive requests of a request to it.
	ID uint64 `json:"id,omitempty"`

	// hello / hello-ok
	Versions      []int  `json:"versions,omitempty"`
	Version       int    `json:"version,omitempty"`
	Client        string `json:"client,omitempty"`
	Plugin        string `json:"plugin,omitempty"`
	PluginVersion string `json:"plugin_version,omitempty"`

	// sign-digestinfo, certificate, signature
	DigestInfo  []byte `json:"digest_info,omitempty"`
	Certificate []byte `json:"certificate,omitempty"`
	Signature   []byte `json:"signature,omitempty"`

	// ask-pin, confirm, message
	Prompt string `json:"prompt,omitempty"`
	Yes    string `json:"yes,omitempty"`
	No     string `json:"no,omitempty"`
	Text   string `json:"text,omitempty"`

	// pin, confirm-result
	PIN       []byte `json:"pin,omitempty"`
	Confirmed bool   `json:"confirmed,omitempty"`

	// error
	Code      string `json:"code,omitempty"` // a signer.ErrorCode
	Message   string `json:"message,omitempty"`
	TriesLeft *int   `json:"tries_left,omitempty"`
}

// Errors returned by Reader.
var (
	// ErrFrameTooLarge is returned when no newline came within MaxFrame bytes.
	ErrFrameTooLarge = errors.New("pluginwire: frame larger than 64 KiB")
	// ErrMalformed is returned for a frame that is not a JSON object with a
	// non-empty type.
	ErrMalformed = errors.New("pluginwire: malformed frame")
)

// Reader reads frames. It owns its buffer and zeroes the bytes of each frame
// once the next frame is read or Wipe is called, so that a PIN does not linger
// in memory it controls.
type Reader struct {
	r    io.Reader
	buf  []byte
	end  int // buf[:end] holds bytes read and not yet wiped
	prev int // buf[:prev] is the frame last returned
	err  error
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, 4096)}
}

// Wipe zeroes the bytes of the last frame returned.
func (r *Reader) Wipe() {
	if r.prev == 0 {
		return
	}
	copy(r.buf, r.buf[r.prev:r.end])
	clear(r.buf[r.end-r.prev : r.end])
	r.end -= r.prev
	r.prev = 0
}

// ReadFrame returns the next frame without its newline. The slice is valid
// until the next call. At a clean end of input it returns io.EOF; input that
// ends inside a frame gives io.ErrUnexpectedEOF. Errors are final.
func (r *Reader) ReadFrame() ([]byte, error) {
	r.Wipe()
	scanned := 0
	for {
		if i := bytes.IndexByte(r.buf[scanned:r.end], '\n'); i >= 0 {
			n := scanned + i + 1
			if n > MaxFrame {
				r.err = ErrFrameTooLarge
				return nil, r.err
			}
			r.prev = n
			return r.buf[:n-1], nil
		}
		scanned = r.end
		if r.end >= MaxFrame {
			r.err = ErrFrameTooLarge
			return nil, r.err
		}
		if r.err != nil {
			if r.err == io.EOF && r.end > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, r.err
		}
		if r.end == len(r.buf) {
			nb := make([]byte, min(2*len(r.buf), MaxFrame))
			copy(nb, r.buf[:r.end])
			clear(r.buf)
			r.buf = nb
		}
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			r.err = err
		}
	}
}

// ReadMsg reads and decodes one frame. The frame bytes are wiped after
// decoding.
func (r *Reader) ReadMsg() (*Msg, error) {
	f, err := r.ReadFrame()
	if err != nil {
		return nil, err
	}
	m, err := Decode(f)
	r.Wipe()
	return m, err
}

// Decode parses one frame (without its newline).
func Decode(frame []byte) (*Msg, error) {
	if len(frame) >= MaxFrame {
		return nil, ErrFrameTooLarge
	}
	frame = bytes.TrimSuffix(frame, []byte{'\r'})
	if len(frame) == 0 || frame[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var m Msg
	if err := json.Unmarshal(frame, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrMalformed)
	}
	return &m, nil
}

// Encode returns the frame for m, newline included. The caller may wipe it
// after writing.
//
// A PIN is not handed to encoding/json, whose pooled buffers would keep
// its base64 after the frame is wiped: the message is marshalled without
// it and the "pin" field is written into the returned frame only.
func Encode(m *Msg) ([]byte, error) {
	pin := m.PIN
	if len(pin) > 0 {
		c := *m
		c.PIN = nil
		m = &c
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(pin) == 0 {
		if len(b)+1 > MaxFrame {
			return nil, ErrFrameTooLarge
		}
		return append(b, '\n'), nil
	}
	const field = `,"pin":"`
	n := len(b) - 1 + len(field) + base64.StdEncoding.EncodedLen(len(pin)) + len("\"}\n")
	if n > MaxFrame {
		return nil, ErrFrameTooLarge
	}
	frame := make([]byte, 0, n)
	frame = append(frame, b[:len(b)-1]...) // b is an object: drop its '}'
	frame = append(frame, field...)
	frame = frame[:len(frame)+base64.StdEncoding.EncodedLen(len(pin))]
	base64.StdEncoding.Encode(frame[len(frame)-base64.StdEncoding.EncodedLen(len(pin)):], pin)
	return append(frame, "\"}\n"...), nil
}

// LogLine renders m for a debug log: the PIN, if any, is replaced by a
// marker and never copied.
func LogLine(m *Msg) string {
	c := *m
	c.PIN = nil
	b, err := json.Marshal(&c)
	if err != nil {
		return "<unprintable message>"
	}
	if m.PIN != nil {
		return string(b) + " (pin redacted)"
	}
	return string(b)
}

// Wipe zeroes b.
func Wipe(b []byte) { clear(b) }
