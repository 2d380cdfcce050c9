// Package jpkiemu emulates the JPKI applet of a My Number Card, or of the
// mobile JPKI certificate in an Android phone's GP-SE, well enough to test
// the GP-SE signer plugin without hardware: the applet's files, the
// user-authentication PIN with its tries counter and blocking, the access
// conditions, and the card/phone token. Card works in-process on APDUs;
// vpcd.go connects it to pcscd as a virtual card through vsmartcard's vpcd
// reader driver.
//
// It implements the user-authentication side only (EF 0006, 000A, 000B,
// 0017, 0018); the signing-certificate side (6–16 character password) is
// not emulated. The emulator is written from the JPKI facts in DESIGN.md §7
// and ISO 7816-4; it does not reproduce every quirk of a real chip.
package jpkiemu

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
)

// AID is the JPKI applet's application identifier.
var AID = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}

// Elementary files of the applet.
const (
	EFToken    = 0x0006
	EFAuthCert = 0x000A
	EFAuthCA   = 0x000B
	EFAuthKey  = 0x0017
	EFAuthPIN  = 0x0018
)

// Token names in EF 0006 (32 bytes, space-padded).
const (
	TokenCard = "JPKIAPICCTOKEN2"
	TokenGPSE = "JPKIAPGPSETOKEN"
)

// Status words.
const (
	swOK               = 0x9000
	swEndOfFile        = 0x6282
	swWrongLength      = 0x6700
	swSecurityStatus   = 0x6982
	swBlocked          = 0x6983
	swConditionsNotMet = 0x6985
	swNotAllowed       = 0x6986
	swWrongData        = 0x6A80
	swFileNotFound     = 0x6A82
	swWrongP1P2        = 0x6A86
	swWrongOffset      = 0x6B00
	swINSNotSupported  = 0x6D00
	swCLANotSupported  = 0x6E00
)

// Options describe the emulated card.
type Options struct {
	Key     *rsa.PrivateKey // the user-authentication key (EF 0017)
	CertDER []byte          // its certificate (EF 000A)
	CADER   []byte          // optional: the issuing CA's certificate (EF 000B)
	PIN     []byte          // the 4-digit user-authentication PIN
	GPSE    bool            // answer as an Android phone's GP-SE, not a card
	Tries   int             // PIN tries before blocking; 0 means 3
}

// Card is the emulated applet. Its methods are safe for concurrent use.
type Card struct {
	mu       sync.Mutex
	key      *rsa.PrivateKey
	files    map[uint16][]byte
	pin      []byte
	gpse     bool
	maxTries int

	tries    int
	verified bool
	selected bool   // the JPKI applet is selected
	ef       uint16 // the current EF, 0 for none
	powered  bool
	signs    int
}

// New returns a card holding opts.
func New(opts Options) (*Card, error) {
	if opts.Key == nil || len(opts.CertDER) == 0 {
		return nil, errors.New("jpkiemu: a key and a certificate are needed")
	}
	if len(opts.PIN) != 4 || !isDigits(opts.PIN) {
		return nil, errors.New("jpkiemu: the user-authentication PIN is 4 digits")
	}
	if opts.Tries == 0 {
		opts.Tries = 3
	}
	if opts.Tries < 1 || opts.Tries > 15 {
		return nil, errors.New("jpkiemu: tries must be 1..15")
	}
	token := TokenCard
	if opts.GPSE {
		token = TokenGPSE
	}
	c := &Card{
		key:      opts.Key,
		pin:      bytes.Clone(opts.PIN),
		gpse:     opts.GPSE,
		maxTries: opts.Tries,
		tries:    opts.Tries,
		files: map[uint16][]byte{
			EFToken:    []byte(fmt.Sprintf("%-32s", token)),
			EFAuthCert: padFile(opts.CertDER),
		},
	}
	if len(opts.CADER) > 0 {
		c.files[EFAuthCA] = padFile(opts.CADER)
	}
	return c, nil
}

// padFile pads a certificate the way a chip's fixed-size EF holds it, so
// that a reader must use the DER length, not the file size.
func padFile(der []byte) []byte {
	n := (len(der) + 255) / 256 * 256
	out := make([]byte, n)
	copy(out, der)
	return out
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ATR is the answer to reset: T=0 and T=1 offered, 8 historical bytes.
func (c *Card) ATR() []byte {
	atr := []byte{0x3B, 0x88, 0x80, 0x01}
	atr = append(atr, []byte("JPKIEMU1")...)
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	return append(atr, tck)
}

// PowerOn, PowerOff and Reset model the reader's control of the chip:
// each clears the selection and the security state; the PIN tries counter
// is non-volatile and survives.
func (c *Card) PowerOn()  { c.reset(true) }
func (c *Card) PowerOff() { c.reset(false) }
func (c *Card) Reset()    { c.reset(true) }

func (c *Card) reset(powered bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powered = powered
	c.selected, c.ef, c.verified = false, 0, false
}

// TriesLeft returns the PIN tries counter.
func (c *Card) TriesLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tries
}

// Signatures returns how many signatures the card has made.
func (c *Card) Signatures() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signs
}

// command is a parsed short APDU.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	ne               int // expected response length; 0: none
}

// parseCommand parses a short APDU (ISO 7816-4 cases 1–4). Extended
// lengths are refused.
func parseCommand(b []byte) (command, bool) {
	if len(b) < 4 {
		return command{}, false
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2
		c.ne = int(body[0])
		if c.ne == 0 {
			c.ne = 256
		}
	default:
		lc := int(body[0])
		if lc == 0 { // extended length: not supported
			return command{}, false
		}
		switch len(body) {
		case 1 + lc: // case 3
		case 2 + lc: // case 4
			c.ne = int(body[1+lc])
			if c.ne == 0 {
				c.ne = 256
			}
		default:
			return command{}, false
		}
		c.data = body[1 : 1+lc]
	}
	return c, true
}

func sw(code uint16, data ...[]byte) []byte {
	var out []byte
	for _, d := range data {
		out = append(out, d...)
	}
	return append(out, byte(code>>8), byte(code))
}

// Process runs one command APDU and returns the response APDU. It never
// panics, whatever the input.
func (c *Card) Process(apdu []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	cmd, ok := parseCommand(apdu)
	if !ok {
		return sw(swWrongLength)
	}
	if cmd.cla != 0x00 && !(cmd.cla == 0x80 && cmd.ins == 0x2A) {
		return sw(swCLANotSupported)
	}
	switch cmd.ins {
	case 0xA4:
		return c.selectFile(cmd)
	case 0xB0:
		return c.readBinary(cmd)
	case 0x20:
		return c.verify(cmd)
	case 0x2A:
		return c.sign(cmd)
	}
	return sw(swINSNotSupported)
}

func (c *Card) selectFile(cmd command) []byte {
	if cmd.p2 != 0x0C {
		return sw(swWrongP1P2)
	}
	switch cmd.p1 {
	case 0x04: // by DF name
		if !bytes.Equal(cmd.data, AID) {
			return sw(swFileNotFound)
		}
		c.selected, c.ef, c.verified = true, 0, false
		return sw(swOK)
	case 0x02: // EF by identifier, under the current DF
		if !c.selected {
			return sw(swFileNotFound)
		}
		if len(cmd.data) != 2 {
			return sw(swWrongLength)
		}
		id := uint16(cmd.data[0])<<8 | uint16(cmd.data[1])
		if _, ok := c.files[id]; !ok && id != EFAuthKey && id != EFAuthPIN {
			return sw(swFileNotFound)
		}
		c.ef = id
		return sw(swOK)
	}
	return sw(swWrongP1P2)
}

func (c *Card) readBinary(cmd command) []byte {
	if cmd.p1&0x80 != 0 {
		return sw(swWrongP1P2) // short EF identifiers are not supported
	}
	if c.ef == 0 {
		return sw(swNotAllowed)
	}
	data, ok := c.files[c.ef]
	if !ok {
		return sw(swNotAllowed) // the key and the PIN cannot be read
	}
	if c.ef == EFAuthCert && c.gpse && !c.verified {
		return sw(swSecurityStatus)
	}
	if cmd.ne == 0 || len(cmd.data) != 0 {
		return sw(swWrongLength)
	}
	off := int(cmd.p1)<<8 | int(cmd.p2)
	if off > len(data) {
		return sw(swWrongOffset)
	}
	end := min(off+cmd.ne, len(data))
	if end-off < cmd.ne {
		return sw(swEndOfFile, data[off:end])
	}
	return sw(swOK, data[off:end])
}

func (c *Card) verify(cmd command) []byte {
	if cmd.p1 != 0x00 || cmd.p2 != 0x80 {
		return sw(swWrongP1P2)
	}
	if !c.selected || c.ef != EFAuthPIN {
		return sw(swConditionsNotMet)
	}
	if cmd.ne != 0 {
		return sw(swWrongLength)
	}
	if c.tries == 0 {
		return sw(swBlocked)
	}
	if len(cmd.data) == 0 { // ask for the counter
		if c.verified {
			return sw(swOK)
		}
		return sw(0x63C0 | uint16(c.tries))
	}
	if bytes.Equal(cmd.data, c.pin) {
		c.tries = c.maxTries
		c.verified = true
		return sw(swOK)
	}
	c.tries--
	c.verified = false
	return sw(0x63C0 | uint16(c.tries))
}

func (c *Card) sign(cmd command) []byte {
	if cmd.cla != 0x80 {
		return sw(swCLANotSupported)
	}
	if cmd.p1 != 0x00 || cmd.p2 != 0x80 {
		return sw(swWrongP1P2)
	}
	if !c.selected || c.ef != EFAuthKey {
		return sw(swConditionsNotMet)
	}
	if !c.verified {
		return sw(swSecurityStatus)
	}
	k := c.key.Size()
	if len(cmd.data) == 0 || len(cmd.data) > k-11 {
		return sw(swWrongData)
	}
	if cmd.ne != 256 && cmd.ne < k {
		return sw(swWrongLength)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, 0, cmd.data)
	if err != nil {
		return sw(swWrongData)
	}
	c.signs++
	return sw(swOK, sig)
}
