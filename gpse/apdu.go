package gpse

import (
	"errors"
	"fmt"
)

// Command is a short command APDU (ISO 7816-4).
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte // at most 255 bytes
	Ne               int    // expected response length, 0 (no Le) to 256 (Le = 00)
}

// Bytes encodes c.
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > 255 {
		return nil, fmt.Errorf("gpse: APDU data of %d bytes does not fit a short APDU", len(c.Data))
	}
	if c.Ne < 0 || c.Ne > 256 {
		return nil, fmt.Errorf("gpse: Ne %d out of range", c.Ne)
	}
	b := make([]byte, 0, 6+len(c.Data))
	b = append(b, c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		b = append(b, byte(len(c.Data)))
		b = append(b, c.Data...)
	}
	if c.Ne > 0 {
		b = append(b, byte(c.Ne)) // 256 encodes as 00
	}
	return b, nil
}

// Response is a response APDU.
type Response struct {
	Data []byte
	SW   uint16
}

// ErrShortResponse is returned by ParseResponse for fewer than 2 bytes.
var ErrShortResponse = errors.New("gpse: response APDU shorter than its status word")

// MaxResponse is the longest response to a short APDU: 256 bytes and SW.
const MaxResponse = 258

// ParseResponse splits a response APDU into data and status word.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, ErrShortResponse
	}
	if len(b) > MaxResponse {
		return Response{}, fmt.Errorf("gpse: response APDU of %d bytes is longer than a short APDU allows", len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n:n], SW: uint16(b[n])<<8 | uint16(b[n+1])}, nil
}

// OK reports a success status word: 90 00, or 62 82 (end of file reached
// before Ne bytes; the data is still good).
func (r Response) OK() bool { return r.SW == 0x9000 || r.SW == 0x6282 }

// StatusError is a status word the applet answered a command with.
type StatusError struct {
	Op string // "SELECT EF 000A"…
	SW uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("gpse: %s: status %04X (%s)", e.Op, e.SW, swText(e.SW))
}

func swText(sw uint16) string {
	switch {
	case sw == 0x9000:
		return "success"
	case sw == 0x6282:
		return "end of file reached"
	case sw&0xFFF0 == 0x63C0:
		return fmt.Sprintf("verification failed, %d tries left", sw&0x0F)
	case sw == 0x6700:
		return "wrong length"
	case sw == 0x6982:
		return "security status not satisfied"
	case sw == 0x6983:
		return "authentication method blocked"
	case sw == 0x6984:
		return "reference data not usable"
	case sw == 0x6985:
		return "conditions of use not satisfied"
	case sw == 0x6986:
		return "command not allowed"
	case sw == 0x6A80:
		return "incorrect data"
	case sw == 0x6A82:
		return "file or application not found"
	case sw == 0x6A86:
		return "incorrect P1-P2"
	case sw == 0x6B00:
		return "wrong offset"
	case sw&0xFF00 == 0x6C00:
		return fmt.Sprintf("wrong Le, %d bytes available", sw&0xFF)
	case sw == 0x6D00:
		return "instruction not supported"
	case sw == 0x6E00:
		return "class not supported"
	}
	return "unknown"
}
