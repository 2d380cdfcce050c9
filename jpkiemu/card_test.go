package jpkiemu

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/idledger/idledger/internal/testutil"
)

// testKey is the card's key, one per test binary.
var testKey, _ = testutil.Holder("holder1")

func newCard(t testing.TB, gpse bool) *Card {
	t.Helper()
	// Any DER SEQUENCE stands for the certificate here.
	cert := append([]byte{0x30, 0x82, 0x01, 0x2C}, bytes.Repeat([]byte{0xAB}, 300)...)
	c, err := New(Options{Key: testKey, CertDER: cert, PIN: []byte("1234"), GPSE: gpse})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

const (
	selectAP   = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
	selectTok  = "00 A4 02 0C 02 00 06"
	selectCert = "00 A4 02 0C 02 00 0A"
	selectPIN  = "00 A4 02 0C 02 00 18"
	selectKey  = "00 A4 02 0C 02 00 17"
	verify1234 = "00 20 00 80 04 31 32 33 34"
	verify9999 = "00 20 00 80 04 39 39 39 39"
	verifyTry  = "00 20 00 80"
)

func digestInfo() []byte {
	d := sha256.Sum256([]byte("x"))
	return append(h("3031300d060960864801650304020105000420"), d[:]...)
}

func signAPDU() string {
	return "80 2A 00 80 33" + hex.EncodeToString(digestInfo()) + "00"
}

// step is one APDU and the status word expected.
type step struct {
	apdu string
	sw   string
}

func run(t *testing.T, c *Card, steps []step) [][]byte {
	t.Helper()
	var out [][]byte
	for i, s := range steps {
		r := c.Process(h(s.apdu))
		got := strings.ToUpper(hex.EncodeToString(r[len(r)-2:]))
		if got != strings.ReplaceAll(s.sw, " ", "") {
			t.Fatalf("step %d %s: SW %s, want %s", i, s.apdu, got, s.sw)
		}
		out = append(out, r[:len(r)-2])
	}
	return out
}

func TestCardFlow(t *testing.T) {
	c := newCard(t, false)
	out := run(t, c, []step{
		{selectCert, "6A82"}, // no applet selected yet
		{"00 A4 04 0C 02 A0 00", "6A82"},
		{selectAP, "9000"},
		{selectTok, "9000"},
		{"00 B0 00 00 20", "9000"},
		{selectCert, "9000"},
		{"00 B0 00 00 04", "9000"},
		{"00 B0 01 2C 00", "6282"}, // past the end of the certificate, into the padding
		{"00 B0 7F 00 01", "6B00"},
		{selectKey, "9000"},
		{"00 B0 00 00 04", "6986"}, // the key cannot be read
		{signAPDU(), "6982"},       // PIN not verified
		{verify1234, "6985"},       // the PIN EF is not selected
		{selectPIN, "9000"},
		{verifyTry, "63C3"},
		{verify1234, "9000"},
		{verifyTry, "9000"},
		{selectKey, "9000"},
		{signAPDU(), "9000"},
		{"00 2A 00 80 01 00 00", "6E00"},
		{"00 CA 00 00 00", "6D00"},
		{"00 B0", "6700"},
	})
	if string(out[4]) != "JPKIAPICCTOKEN2                 " {
		t.Fatalf("token %q", out[4])
	}
	if !bytes.Equal(out[6], []byte{0x30, 0x82, 0x01, 0x2C}) {
		t.Fatalf("certificate header %X", out[6])
	}
	if len(out[7]) != 256-0x12C%256 {
		t.Fatalf("read past the end: %d bytes", len(out[7]))
	}
	d := sha256.Sum256([]byte("x"))
	if err := rsa.VerifyPKCS1v15(&testKey.PublicKey, crypto.SHA256, d[:], out[18]); err != nil {
		t.Fatal(err)
	}
	if c.Signatures() != 1 {
		t.Fatal("signature not counted")
	}
}

func TestPINBlocking(t *testing.T) {
	c := newCard(t, false)
	run(t, c, []step{
		{selectAP, "9000"}, {selectPIN, "9000"},
		{verify9999, "63C2"},
		{verify1234, "9000"}, // a good PIN restores the counter
		{verifyTry, "9000"},
		{verify9999, "63C2"},
		{verify9999, "63C1"},
		{verify9999, "63C0"},
		{verifyTry, "6983"},
		{verify1234, "6983"}, // blocked: even the right PIN fails
	})
	c.Reset()
	run(t, c, []step{{selectAP, "9000"}, {selectPIN, "9000"}, {verifyTry, "6983"}})
	if c.TriesLeft() != 0 {
		t.Fatal("tries counter not persistent")
	}
}

func TestGPSENeedsPINForCertificate(t *testing.T) {
	c := newCard(t, true)
	out := run(t, c, []step{
		{selectAP, "9000"},
		{selectTok, "9000"},
		{"00 B0 00 00 20", "9000"},
		{selectCert, "9000"},
		{"00 B0 00 00 04", "6982"},
		{selectPIN, "9000"},
		{verify1234, "9000"},
		{selectCert, "9000"},
		{"00 B0 00 00 04", "9000"},
	})
	if strings.TrimSpace(string(out[2])) != TokenGPSE {
		t.Fatalf("token %q", out[2])
	}
	c.PowerOff()
	c.PowerOn()
	run(t, c, []step{{selectAP, "9000"}, {selectCert, "9000"}, {"00 B0 00 00 04", "6982"}})
}

// FuzzProcess feeds each input, a sequence of APDUs, to a fresh card: no
// state (tries counter, selection, verified PIN) is shared between inputs,
// so a failure replays from its input alone. An input is a series of
// length-prefixed APDUs: one length byte, then that many bytes (fewer at
// the end of the input).
func FuzzProcess(f *testing.F) {
	seq := func(apdus ...string) []byte {
		var b []byte
		for _, a := range apdus {
			x := h(a)
			b = append(append(b, byte(len(x))), x...)
		}
		return b
	}
	for _, s := range []string{selectAP, selectTok, selectCert, verify1234, verifyTry, signAPDU(), "00 B0 00 00 00", "00", "80 2A 00 80 00 01 02"} {
		f.Add(seq(s), false)
		f.Add(seq(selectAP, s), true)
	}
	f.Add(seq(selectAP, selectCert, "00 B0 00 00 00", selectPIN, verify1234, selectCert, "00 B0 00 00 00"), true)
	f.Add(seq(selectAP, selectPIN, verify9999, verify9999, verify9999, verifyTry, verify1234), false)
	f.Add(seq(selectAP, selectPIN, verify1234, selectKey, signAPDU()), false)
	f.Fuzz(func(t *testing.T, in []byte, phone bool) {
		c := newCard(t, phone)
		for len(in) > 0 {
			n := min(int(in[0]), len(in)-1)
			apdu := in[1 : 1+n]
			in = in[1+n:]
			r := c.Process(apdu)
			if len(r) < 2 || len(r) > 258 {
				t.Fatalf("APDU %X: response of %d bytes", apdu, len(r))
			}
			if tries := c.TriesLeft(); tries < 0 || tries > 3 {
				t.Fatalf("APDU %X: tries counter %d", apdu, tries)
			}
		}
	})
}

// fakeVPCD plays vpcd's side of the socket.
type fakeVPCD struct {
	t    *testing.T
	conn net.Conn
}

func (v *fakeVPCD) send(b []byte) {
	v.t.Helper()
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
	if _, err := v.conn.Write(append(frame, b...)); err != nil {
		v.t.Fatal(err)
	}
}

func (v *fakeVPCD) recv() []byte {
	v.t.Helper()
	v.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [2]byte
	if _, err := io.ReadFull(v.conn, hdr[:]); err != nil {
		v.t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(v.conn, b); err != nil {
		v.t.Fatal(err)
	}
	return b
}

func TestVPCDProtocol(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := newCard(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	in, err := Insert(ctx, ln.Addr().String(), c, InsertOptions{RemoveOn: func(apdu []byte) bool { return apdu[1] == 0x2A }})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVPCD{t, conn}
	v.send([]byte{ctrlATR})
	if atr := v.recv(); !bytes.Equal(atr, c.ATR()) {
		t.Fatalf("ATR %X", atr)
	}
	v.send([]byte{ctrlOn})
	v.send(h(selectAP))
	if r := v.recv(); !bytes.Equal(r, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT: %X", r)
	}
	v.send(h(selectPIN))
	v.recv()
	v.send(h(verify1234))
	v.recv()
	v.send([]byte{ctrlReset}) // a reset clears the verified PIN
	v.send(h(selectAP))
	v.recv()
	v.send(h(selectPIN))
	v.recv()
	v.send(h(verifyTry))
	if r := v.recv(); !bytes.Equal(r, []byte{0x63, 0xC3}) {
		t.Fatalf("after reset: %X", r)
	}
	// RemoveOn: the card leaves during the signature.
	v.send(h(signAPDU()))
	select {
	case <-in.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("card not removed")
	}
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("connection still open: %d %v", n, err)
	}
	if in.Err() != nil {
		t.Fatal(in.Err())
	}
}

func TestNewRefuses(t *testing.T) {
	newCard(t, false)
	for _, o := range []Options{
		{Key: testKey, PIN: []byte("1234")},
		{Key: testKey, CertDER: []byte{0x30, 0}, PIN: []byte("123")},
		{Key: testKey, CertDER: []byte{0x30, 0}, PIN: []byte("12a4")},
		{Key: testKey, CertDER: []byte{0x30, 0}, PIN: []byte("1234"), Tries: 16},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
