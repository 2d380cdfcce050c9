package gpse

import (
	"bytes"
	"errors"
	"testing"
)

// hostileCard answers every APDU through answer and counts them; after
// limit APDUs it fails the test instead of answering, so a loop that is not
// bounded ends as a test failure rather than a hang or a stack overflow.
type hostileCard struct {
	t      *testing.T
	n      int
	limit  int
	answer func(apdu []byte) []byte
}

func (c *hostileCard) Transmit(apdu []byte) ([]byte, error) {
	c.n++
	if c.n > c.limit {
		c.t.Fatalf("%d APDUs sent to a card that answers only with retries: the retry loop is not bounded", c.n)
	}
	return c.answer(apdu), nil
}

func TestAppletBoundsWrongLeRetries(t *testing.T) {
	// A card that answers every READ BINARY with 6C xx, whatever Le it
	// is given. Unbounded, the re-send recursion never ends.
	for _, sw := range []byte{0x10, 0x00, 0xFF} {
		c := &hostileCard{t: t, limit: 100, answer: func([]byte) []byte { return []byte{0x6C, sw} }}
		a := &Applet{t: c, ef: EFAuthCert}
		_, err := a.readBinary(0, 4)
		if !errors.Is(err, ErrCardLoops) {
			t.Fatalf("6C %02X forever: %v, want ErrCardLoops", sw, err)
		}
		if c.n != 1+maxWrongLe {
			t.Errorf("6C %02X forever: %d APDUs, want %d", sw, c.n, 1+maxWrongLe)
		}
	}
}

func TestAppletBoundsGetResponse(t *testing.T) {
	// 61 xx forever, with no data and with full data.
	for name, data := range map[string][]byte{"empty": nil, "full": bytes.Repeat([]byte{0xAB}, 255)} {
		c := &hostileCard{t: t, limit: 1000, answer: func([]byte) []byte { return append(bytes.Clone(data), 0x61, 0x00) }}
		a := &Applet{t: c}
		_, err := a.do("test", Command{CLA: 0x80, INS: 0x2A, P2: 0x80, Data: []byte{1}, Ne: 256})
		if !errors.Is(err, ErrCardLoops) {
			t.Fatalf("%s: 61 00 forever: %v, want ErrCardLoops", name, err)
		}
		if c.n > 1+maxGetResponse {
			t.Errorf("%s: %d APDUs, want at most %d", name, c.n, 1+maxGetResponse)
		}
	}
	// Select on such a card ends with an error too.
	c := &hostileCard{t: t, limit: 1000, answer: func([]byte) []byte { return []byte{0x61, 0x10} }}
	if _, err := Select(c); !errors.Is(err, ErrCardLoops) {
		t.Fatalf("Select on a 61 xx card: %v", err)
	}
}

func TestAppletFollowsOneWrongLeAndGetResponse(t *testing.T) {
	// An honest card: 6C 04 once, then the 4 bytes; and 61 xx chains
	// within the bounds are still followed.
	var sent [][]byte
	c := &hostileCard{t: t, limit: 10, answer: func(apdu []byte) []byte {
		sent = append(sent, bytes.Clone(apdu))
		switch len(sent) {
		case 1:
			return []byte{0x6C, 0x04}
		case 2:
			return []byte{0x30, 0x82, 0x01, 0x00, 0x61, 0x02}
		default:
			return []byte{0x01, 0x02, 0x90, 0x00}
		}
	}}
	a := &Applet{t: c, ef: EFAuthCert}
	r, err := a.do("test", Command{CLA: 0x00, INS: 0xB0, Ne: 256})
	if err != nil || r.SW != 0x9000 || !bytes.Equal(r.Data, []byte{0x30, 0x82, 0x01, 0x00, 0x01, 0x02}) {
		t.Fatalf("got %X %04X %v", r.Data, r.SW, err)
	}
	if !bytes.Equal(sent[1], []byte{0x00, 0xB0, 0x00, 0x00, 0x04}) || !bytes.Equal(sent[2], []byte{0x00, 0xC0, 0x00, 0x00, 0x02}) {
		t.Fatalf("sent %X", sent)
	}
}

// scriptedCard answers APDUs with the responses of a fuzz input: a series
// of length-prefixed responses (one length byte, then that many bytes);
// once they run out it answers 6C 00, the answer that once made the
// re-send recursion endless.
type scriptedCard struct {
	in []byte
	n  int
}

func (c *scriptedCard) Transmit(apdu []byte) ([]byte, error) {
	c.n++
	if len(c.in) == 0 {
		return []byte{0x6C, 0x00}, nil
	}
	n := min(int(c.in[0]), len(c.in)-1)
	r := c.in[1 : 1+n]
	c.in = c.in[1+n:]
	return bytes.Clone(r), nil
}

// FuzzAppletResponses runs the whole applet flow against a card that
// answers anything: it must end, with a bounded number of APDUs, and
// never panic.
func FuzzAppletResponses(f *testing.F) {
	seq := func(rs ...[]byte) []byte {
		var b []byte
		for _, r := range rs {
			b = append(append(b, byte(len(r))), r...)
		}
		return b
	}
	ok := []byte{0x90, 0x00}
	tok := append([]byte("JPKIAPGPSETOKEN                 "), 0x90, 0x00)
	f.Add(seq(ok, ok, tok))
	f.Add(seq(ok, ok, tok, ok, []byte{0x30, 0x82, 0x01, 0x00, 0x90, 0x00}, []byte{0x61, 0x10}, []byte{0x6C, 0x04}))
	f.Add(seq(ok, ok, tok, ok, []byte{0x63, 0xC2}, ok, []byte{0x63, 0xC1}))
	f.Add(seq([]byte{0x61, 0x00}, []byte{0x61, 0x00}, []byte{0x61, 0x00}))
	f.Add([]byte{})
	di := append(bytes.Clone(sha256Prefix), make([]byte, 32)...)
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &scriptedCard{in: in}
		a, err := Select(c)
		if err == nil {
			a.ReadCertificate()
			a.TriesLeft()
			a.VerifyPIN([]byte("1234"))
			a.Sign(di)
		}
		// Each command: one re-send, 16 GET RESPONSE; a certificate
		// read: at most 0x7FFF/255+2 READ BINARY; plus SELECTs.
		if limit := 10 * (1 + maxWrongLe + maxGetResponse) * (0x7FFF/255 + 8); c.n > limit {
			t.Fatalf("%d APDUs", c.n)
		}
	})
}
