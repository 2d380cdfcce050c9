package gpse

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestCommandBytes(t *testing.T) {
	for _, tc := range []struct {
		c    Command
		want string
	}{
		{Command{CLA: 0, INS: 0x20, P1: 0, P2: 0x80}, "00200080"},
		{Command{CLA: 0, INS: 0xB0, P1: 0x01, P2: 0x03, Ne: 255}, "00b00103ff"},
		{Command{CLA: 0, INS: 0xB0, Ne: 256}, "00b0000000"},
		{Command{CLA: 0, INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0, 0x0A}}, "00a4020c02000a"},
		{Command{CLA: 0x80, INS: 0x2A, P2: 0x80, Data: []byte{1, 2}, Ne: 256}, "802a0080020102" + "00"},
	} {
		b, err := tc.c.Bytes()
		if err != nil || hex.EncodeToString(b) != tc.want {
			t.Errorf("%+v: %x %v, want %s", tc.c, b, err, tc.want)
		}
	}
	if _, err := (Command{Data: make([]byte, 256)}).Bytes(); err == nil {
		t.Error("256 data bytes accepted")
	}
	if _, err := (Command{Ne: 257}).Bytes(); err == nil {
		t.Error("Ne 257 accepted")
	}
}

func TestParseResponse(t *testing.T) {
	r, err := ParseResponse([]byte{1, 2, 0x63, 0xC2})
	if err != nil || r.SW != 0x63C2 || !bytes.Equal(r.Data, []byte{1, 2}) || r.OK() {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := ParseResponse([]byte{0x90}); !errors.Is(err, ErrShortResponse) {
		t.Fatal(err)
	}
	if _, err := ParseResponse(make([]byte, 259)); err == nil {
		t.Fatal("259-byte response accepted")
	}
}

func TestDERLength(t *testing.T) {
	for _, tc := range []struct {
		hdr  string
		want int
		ok   bool
	}{
		{"3082052c", 0x52C + 4, true},
		{"30815000", 0x50 + 3, true},
		{"30200000", 0x22, true},
		{"31820100", 0, false},
		{"30830100", 0, false},
		{"30820000", 0, false},
		{"3082ffff", 0, false},
		{"ffffffff", 0, false},
		{"00000000", 0, false},
		{"30", 0, false},
	} {
		b, _ := hex.DecodeString(tc.hdr)
		n, err := derLength(b)
		if (err == nil) != tc.ok || n != tc.want {
			t.Errorf("%s: %d %v", tc.hdr, n, err)
		}
	}
}

func TestParseToken(t *testing.T) {
	for in, want := range map[string]Token{
		"JPKIAPICCTOKEN2                 ": TokenCard,
		"JPKIAPGPSETOKEN                 ": TokenAndroid,
		"JPKIAPIOSTOKEN\x00\x00":           TokenIPhone,
		"":                                 TokenUnknown,
		"JPKIAPGPSETOKEN2":                 TokenUnknown,
	} {
		if got := ParseToken([]byte(in)); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte{0x90, 0x00})
	f.Add([]byte{0x63, 0xC2})
	f.Add([]byte{0x30, 0x82, 0x05, 0x2C, 0x90, 0x00})
	f.Add([]byte{0x61})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResponse(b)
		if err != nil {
			if len(b) >= 2 && len(b) <= MaxResponse {
				t.Fatalf("refused %d bytes: %v", len(b), err)
			}
			return
		}
		if len(r.Data) != len(b)-2 || uint16(b[len(b)-2])<<8|uint16(b[len(b)-1]) != r.SW {
			t.Fatal("data or SW mismatch")
		}
		// Appending to Data must not overwrite the status word in b.
		_ = append(r.Data, 0xEE)
		if uint16(b[len(b)-2])<<8|uint16(b[len(b)-1]) != r.SW {
			t.Fatal("Data aliases the status word")
		}
		if len(b) >= 4 {
			_, _ = derLength(b)
		}
		_ = (&StatusError{"x", r.SW}).Error()
	})
}
