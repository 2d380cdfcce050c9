package gpse

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/idledger/idledger/signer"
)

// AID is the JPKI applet's application identifier.
var AID = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}

// Elementary files of the JPKI applet used here.
const (
	EFToken    = 0x0006 // token name, 32 bytes space-padded
	EFAuthCert = 0x000A // user-authentication certificate (DER)
	EFAuthCA   = 0x000B // its CA certificate
	EFAuthKey  = 0x0017 // user-authentication private key
	EFAuthPIN  = 0x0018 // user-authentication PIN (4 digits)
)

// Token tells what holds the applet, from EF 0006.
type Token int

const (
	TokenUnknown Token = iota
	TokenCard          // JPKIAPICCTOKEN2: a My Number Card
	TokenAndroid       // JPKIAPGPSETOKEN: an Android phone's GP-SE
	TokenIPhone        // JPKIAPIOSTOKEN: an iPhone
)

func (t Token) String() string {
	switch t {
	case TokenCard:
		return "My Number Card"
	case TokenAndroid:
		return "Android phone (GP-SE)"
	case TokenIPhone:
		return "iPhone"
	}
	return "unknown JPKI token"
}

// IsPhone reports a phone's applet, whose authentication certificate needs
// the PIN before it can be read.
func (t Token) IsPhone() bool { return t == TokenAndroid || t == TokenIPhone }

// ParseToken reads EF 0006's contents.
func ParseToken(b []byte) Token {
	name := string(bytes.TrimRight(b, " \x00"))
	switch name {
	case "JPKIAPICCTOKEN2", "JPKIAPICCTOKEN":
		return TokenCard
	case "JPKIAPGPSETOKEN":
		return TokenAndroid
	case "JPKIAPIOSTOKEN":
		return TokenIPhone
	}
	return TokenUnknown
}

// Errors of the applet flow. Test them with errors.Is. A blocked PIN is
// signer.ErrPINBlocked, a wrong PIN a *signer.PluginError with
// signer.CodeWrongPIN and the tries left, a card that left the reader
// signer.ErrCardRemoved (returned by transports): the signer plugin
// protocol's own errors, not copies.
var (
	// ErrNoApplet: the card answers but holds no JPKI applet.
	ErrNoApplet = errors.New("gpse: no JPKI applet on this card")
	// ErrPINRequired: the operation needs the PIN verified first (69 82).
	ErrPINRequired = errors.New("gpse: the PIN must be verified first")
	// ErrPINFormat: the PIN given is not 4 digits; nothing was sent.
	ErrPINFormat = errors.New("gpse: the user-authentication PIN is 4 digits")
	// ErrNotDigestInfo: the data to sign is not a DER SHA-256 DigestInfo.
	ErrNotDigestInfo = errors.New("gpse: not a SHA-256 DigestInfo")
)

// Transport sends one APDU and returns the response.
type Transport interface {
	Transmit(apdu []byte) ([]byte, error)
}

// Applet is the JPKI applet, selected, on a Transport.
type Applet struct {
	t     Transport
	token Token
	ef    uint16
}

// Select selects the JPKI applet and reads its token.
func Select(t Transport) (*Applet, error) {
	a := &Applet{t: t}
	r, err := a.do("SELECT JPKI AP", Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x0C, Data: AID})
	if err != nil {
		return nil, err
	}
	if r.SW == 0x6A82 || r.SW == 0x6A86 || r.SW == 0x6D00 || r.SW == 0x6E00 {
		return nil, ErrNoApplet
	}
	if r.SW != 0x9000 {
		return nil, &StatusError{"SELECT JPKI AP", r.SW}
	}
	tok, err := a.readEF(EFToken, 32)
	if err != nil {
		return nil, fmt.Errorf("gpse: reading the token: %w", err)
	}
	a.token = ParseToken(tok)
	return a, nil
}

// Token returns what holds the applet.
func (a *Applet) Token() Token { return a.token }

// Bounds on what a card may make the plugin do for one command: a hostile
// or broken card (or emulator) must not keep it looping or buffering.
const (
	// maxWrongLe is how often a command is re-sent with the Le a 6C xx
	// answer names. ISO 7816-4 expects one re-send; a second 6C xx means
	// the card is not following its own advice.
	maxWrongLe = 1
	// maxGetResponse bounds the GET RESPONSE rounds that 61 xx asks for.
	maxGetResponse = 16
	// maxResponseData bounds the data of one command's response, GET
	// RESPONSE rounds included. No command here expects more than 256
	// bytes (a 2048-bit signature, a READ BINARY of at most 256).
	maxResponseData = 1024
)

// ErrCardLoops is returned when the card keeps answering 6C xx or 61 xx
// past the bounds above, or sends more response data than any command here
// can need.
var ErrCardLoops = errors.New("gpse: the card keeps asking for the command again or sends too much data")

// do transmits c, following 6C xx (wrong Le: re-send once with Le = xx)
// and 61 xx (more data: GET RESPONSE), each a bounded number of times.
func (a *Applet) do(op string, c Command) (Response, error) {
	var r Response
	for wrongLe := 0; ; wrongLe++ {
		apdu, err := c.Bytes()
		if err != nil {
			return Response{}, err
		}
		raw, err := a.t.Transmit(apdu)
		clear(apdu) // a VERIFY's APDU holds the PIN
		if err != nil {
			return Response{}, fmt.Errorf("gpse: %s: %w", op, err)
		}
		if r, err = ParseResponse(raw); err != nil {
			return Response{}, fmt.Errorf("gpse: %s: %w", op, err)
		}
		if r.SW&0xFF00 != 0x6C00 || c.Ne == 0 || len(c.Data) > 0 {
			break
		}
		if wrongLe == maxWrongLe {
			return Response{}, fmt.Errorf("%w: %s: status %04X after %d re-sends with the Le it asked for", ErrCardLoops, op, r.SW, maxWrongLe)
		}
		c.Ne = leOf(r.SW)
	}
	data := r.Data
	for i := 0; r.SW&0xFF00 == 0x6100; i++ {
		if i == maxGetResponse {
			return Response{}, fmt.Errorf("%w: %s: still 61 xx after %d GET RESPONSE", ErrCardLoops, op, maxGetResponse)
		}
		raw, err := a.t.Transmit([]byte{0x00, 0xC0, 0x00, 0x00, byte(leOf(r.SW))})
		if err != nil {
			return Response{}, fmt.Errorf("gpse: %s: GET RESPONSE: %w", op, err)
		}
		if r, err = ParseResponse(raw); err != nil {
			return Response{}, fmt.Errorf("gpse: %s: GET RESPONSE: %w", op, err)
		}
		if len(data)+len(r.Data) > maxResponseData {
			return Response{}, fmt.Errorf("%w: %s: more than %d bytes of response data", ErrCardLoops, op, maxResponseData)
		}
		data = append(data, r.Data...)
	}
	r.Data = data
	return r, nil
}

// leOf is the length a 6C xx or 61 xx status word names; xx = 00 means 256.
func leOf(sw uint16) int {
	if n := int(sw & 0xFF); n != 0 {
		return n
	}
	return 256
}

// selectEF selects an elementary file of the applet.
func (a *Applet) selectEF(id uint16) error {
	if a.ef == id {
		return nil
	}
	op := fmt.Sprintf("SELECT EF %04X", id)
	r, err := a.do(op, Command{CLA: 0x00, INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{byte(id >> 8), byte(id)}})
	if err != nil {
		return err
	}
	if r.SW != 0x9000 {
		a.ef = 0
		return &StatusError{op, r.SW}
	}
	a.ef = id
	return nil
}

// readBinary reads n bytes at off from the current EF.
func (a *Applet) readBinary(off, n int) ([]byte, error) {
	op := fmt.Sprintf("READ BINARY %04X at %d", a.ef, off)
	if off < 0 || off > 0x7FFF || n < 1 || n > 256 {
		return nil, fmt.Errorf("gpse: %s: offset or length out of range", op)
	}
	r, err := a.do(op, Command{CLA: 0x00, INS: 0xB0, P1: byte(off >> 8), P2: byte(off), Ne: n})
	if err != nil {
		return nil, err
	}
	switch {
	case r.OK():
		if len(r.Data) > n {
			return nil, fmt.Errorf("gpse: %s: %d bytes for %d asked", op, len(r.Data), n)
		}
		return r.Data, nil
	case r.SW == 0x6982:
		return nil, ErrPINRequired
	}
	return nil, &StatusError{op, r.SW}
}

func (a *Applet) readEF(id uint16, n int) ([]byte, error) {
	if err := a.selectEF(id); err != nil {
		return nil, err
	}
	return a.readBinary(0, n)
}

// maxCertificate bounds the certificate length read from a DER header.
const maxCertificate = 0x7FFF

// ReadCertificate reads the user-authentication certificate (EF 000A). The
// length comes from the DER header in the first bytes: the EF is larger and
// padded. A phone's applet answers ErrPINRequired until the PIN is verified.
func (a *Applet) ReadCertificate() ([]byte, error) { return a.readCert(EFAuthCert) }

// ReadCACertificate reads EF 000B, the certificate of the issuing CA.
func (a *Applet) ReadCACertificate() ([]byte, error) { return a.readCert(EFAuthCA) }

func (a *Applet) readCert(id uint16) ([]byte, error) {
	hdr, err := a.readEF(id, 4)
	if err != nil {
		return nil, err
	}
	total, err := derLength(hdr)
	if err != nil {
		return nil, fmt.Errorf("gpse: EF %04X holds no certificate: %w", id, err)
	}
	out := make([]byte, 0, total)
	out = append(out, hdr[:min(len(hdr), total)]...)
	for len(out) < total {
		chunk, err := a.readBinary(len(out), min(0xFF, total-len(out)))
		if err != nil {
			return nil, err
		}
		if len(chunk) == 0 {
			return nil, fmt.Errorf("gpse: EF %04X ends at %d bytes, its DER header says %d", id, len(out), total)
		}
		out = append(out, chunk...)
	}
	return out, nil
}

// derLength returns the full length of the DER SEQUENCE whose first bytes
// are hdr.
func derLength(hdr []byte) (int, error) {
	if len(hdr) < 2 || hdr[0] != 0x30 {
		return 0, errors.New("not a DER SEQUENCE")
	}
	var n, h int
	switch l := hdr[1]; {
	case l < 0x80:
		n, h = int(l), 2
	case l == 0x81 && len(hdr) >= 3:
		n, h = int(hdr[2]), 3
	case l == 0x82 && len(hdr) >= 4:
		n, h = int(hdr[2])<<8|int(hdr[3]), 4
	default:
		return 0, errors.New("unsupported DER length")
	}
	if h+n > maxCertificate || n == 0 {
		return 0, fmt.Errorf("DER length %d out of range", n)
	}
	return h + n, nil
}

// TriesLeft asks the PIN tries counter (VERIFY without data). verified is
// true when the PIN is already verified in this session.
func (a *Applet) TriesLeft() (tries int, verified bool, err error) {
	if err := a.selectEF(EFAuthPIN); err != nil {
		return 0, false, err
	}
	r, err := a.do("VERIFY (tries)", Command{CLA: 0x00, INS: 0x20, P1: 0x00, P2: 0x80})
	if err != nil {
		return 0, false, err
	}
	switch {
	case r.SW == 0x9000:
		return -1, true, nil
	case r.SW == 0x63C0 || r.SW == 0x6983 || r.SW == 0x6984:
		return 0, false, signer.ErrPINBlocked
	case r.SW&0xFFF0 == 0x63C0:
		return int(r.SW & 0x0F), false, nil
	}
	return 0, false, &StatusError{"VERIFY (tries)", r.SW}
}

// VerifyPIN verifies the user-authentication PIN. It checks the PIN is 4
// digits before sending it, so a typo does not cost a try. It never
// retries.
func (a *Applet) VerifyPIN(pin []byte) error {
	if len(pin) != 4 {
		return ErrPINFormat
	}
	for _, c := range pin {
		if c < '0' || c > '9' {
			return ErrPINFormat
		}
	}
	if err := a.selectEF(EFAuthPIN); err != nil {
		return err
	}
	r, err := a.do("VERIFY", Command{CLA: 0x00, INS: 0x20, P1: 0x00, P2: 0x80, Data: pin})
	if err != nil {
		return err
	}
	switch {
	case r.SW == 0x9000:
		return nil
	case r.SW == 0x63C0 || r.SW == 0x6983 || r.SW == 0x6984:
		return signer.ErrPINBlocked
	case r.SW&0xFFF0 == 0x63C0:
		tries := int(r.SW & 0x0F)
		return &signer.PluginError{Code: signer.CodeWrongPIN, TriesLeft: tries,
			Message: fmt.Sprintf("wrong PIN, %d %s left", tries, plural(tries, "try", "tries"))}
	}
	return &StatusError{"VERIFY", r.SW}
}

// sha256Prefix is the DER DigestInfo header for SHA-256.
var sha256Prefix = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// IsSHA256DigestInfo reports whether b is a DER SHA-256 DigestInfo.
func IsSHA256DigestInfo(b []byte) bool {
	return len(b) == len(sha256Prefix)+32 && bytes.HasPrefix(b, sha256Prefix)
}

// Sign has the user-authentication key sign digestInfo (COMPUTE DIGITAL
// SIGNATURE, 80 2A 00 80): RSA PKCS#1 v1.5 over the DigestInfo as given.
// Only SHA-256 DigestInfos are accepted: the card is not lent out as a raw
// RSA oracle. The PIN must have been verified in this session.
func (a *Applet) Sign(digestInfo []byte) ([]byte, error) {
	if !IsSHA256DigestInfo(digestInfo) {
		return nil, ErrNotDigestInfo
	}
	if err := a.selectEF(EFAuthKey); err != nil {
		return nil, err
	}
	r, err := a.do("COMPUTE DIGITAL SIGNATURE", Command{CLA: 0x80, INS: 0x2A, P1: 0x00, P2: 0x80, Data: digestInfo, Ne: 256})
	if err != nil {
		return nil, err
	}
	switch {
	case r.SW == 0x9000 && len(r.Data) > 0:
		return r.Data, nil
	case r.SW == 0x6982:
		return nil, ErrPINRequired
	}
	return nil, &StatusError{"COMPUTE DIGITAL SIGNATURE", r.SW}
}
