package gpse_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/idledger/idledger/gpse"
	"github.com/idledger/idledger/internal/testutil"
	"github.com/idledger/idledger/jpkiemu"
	"github.com/idledger/idledger/signer"
)

type holder struct {
	key  *rsa.PrivateKey
	cert []byte
}

// testHolder is the holder of the in-process tests. (The chain's test CA
// is not needed here: the plugin does not check the certificate, the chain
// does.)
func testHolder(t testing.TB) holder {
	t.Helper()
	k, cert := testutil.Holder("holder1")
	return holder{key: k, cert: cert}
}

func newCard(t testing.TB, gpseToken bool) *jpkiemu.Card {
	t.Helper()
	h := testHolder(t)
	c, err := jpkiemu.New(jpkiemu.Options{Key: h.key, CertDER: h.cert, PIN: []byte("1234"), GPSE: gpseToken})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func digestInfo(msg string) (di, digest []byte) {
	d := sha256.Sum256([]byte(msg))
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	return append(prefix, d[:]...), d[:]
}

// memBackend is a Backend of in-process readers.
type memBackend struct {
	readers []string
	cards   map[string]*jpkiemu.Card
	// removeOn pulls the card when it returns true for an APDU.
	removeOn func(apdu []byte) bool
	removed  bool
	// sent keeps every APDU slice as given to Transmit (not a copy).
	sent [][]byte
}

func (b *memBackend) ListReaders() ([]string, error) { return b.readers, nil }
func (b *memBackend) Close() error                   { return nil }
func (b *memBackend) Connect(r string) (gpse.Conn, error) {
	c := b.cards[r]
	if c == nil {
		return nil, gpse.ErrNoCardInReader
	}
	c.PowerOn()
	return &memConn{b: b, c: c}, nil
}

type memConn struct {
	b *memBackend
	c *jpkiemu.Card
}

func (m *memConn) Transmit(apdu []byte) ([]byte, error) {
	m.b.sent = append(m.b.sent, apdu)
	if m.b.removed || (m.b.removeOn != nil && m.b.removeOn(apdu)) {
		m.b.removed = true
		return nil, signer.ErrCardRemoved
	}
	return m.c.Process(apdu), nil
}

func (m *memConn) Close(reset bool) error {
	if reset {
		m.c.Reset()
	}
	return nil
}

type fakeUI struct {
	pin     string
	prompts []string
	msgs    []string
	given   [][]byte // the PIN slices handed to the plugin
}

func (u *fakeUI) AskPIN(prompt string) ([]byte, error) {
	u.prompts = append(u.prompts, prompt)
	b := []byte(u.pin)
	u.given = append(u.given, b)
	return b, nil
}
func (u *fakeUI) Confirm(prompt, yes, no string) (bool, error) { return true, nil }
func (u *fakeUI) Message(text string) error {
	u.msgs = append(u.msgs, text)
	return nil
}

func TestPluginCardAndPhone(t *testing.T) {
	h := testHolder(t)
	for _, phone := range []bool{false, true} {
		card := newCard(t, phone)
		p := &gpse.Plugin{Backend: &memBackend{readers: []string{"empty reader", "reader 1"}, cards: map[string]*jpkiemu.Card{"reader 1": card}}}
		ui := &fakeUI{pin: "1234"}
		ctx := context.Background()
		cert, err := p.Certificate(ctx, ui)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cert, h.cert) {
			t.Fatal("certificate differs")
		}
		wantPrompts := 0
		if phone {
			wantPrompts = 1 // a phone's certificate needs the PIN
		}
		if len(ui.prompts) != wantPrompts {
			t.Fatalf("phone=%v: %d PIN prompts for the certificate, want %d", phone, len(ui.prompts), wantPrompts)
		}
		for i := range 2 {
			di, d := digestInfo("attestation " + string(rune('a'+i)))
			sig, err := p.SignDigestInfo(ctx, ui, di)
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(&h.key.PublicKey, crypto.SHA256, d, sig); err != nil {
				t.Fatal(err)
			}
		}
		// One PIN per signature; the phone's certificate PIN covers the
		// first signature.
		if len(ui.prompts) != 2 {
			t.Fatalf("phone=%v: %d PIN prompts in all, want 2: %q", phone, len(ui.prompts), ui.prompts)
		}
		if !strings.Contains(ui.prompts[0], `"reader 1"`) {
			t.Fatalf("prompt %q does not name the reader", ui.prompts[0])
		}
		if phone != (len(ui.msgs) > 0) {
			t.Fatalf("phone=%v: messages %q", phone, ui.msgs)
		}
		p.Close()
	}
}

// TestPluginWipesPIN: after a signature, neither the PIN slice the UI
// gave the plugin nor the VERIFY APDU that carried it to the card holds
// the PIN any more.
func TestPluginWipesPIN(t *testing.T) {
	for _, pin := range []string{"1234", "9999"} { // right and wrong
		b := &memBackend{readers: []string{"r1"}, cards: map[string]*jpkiemu.Card{"r1": newCard(t, false)}}
		p := &gpse.Plugin{Backend: b}
		ui := &fakeUI{pin: pin}
		di, _ := digestInfo("wipe")
		p.SignDigestInfo(context.Background(), ui, di)
		p.Close()
		if len(ui.given) != 1 {
			t.Fatalf("PIN %s: asked %d times", pin, len(ui.given))
		}
		if !bytes.Equal(ui.given[0], make([]byte, 4)) {
			t.Errorf("PIN %s: the plugin left the PIN slice as %q", pin, ui.given[0])
		}
		verifies := 0
		for _, apdu := range b.sent {
			if bytes.Contains(apdu, []byte(pin)) {
				t.Errorf("PIN %s: APDU %X still holds the PIN", pin, apdu)
			}
			if len(apdu) == 9 {
				verifies++
			}
		}
		if verifies != 1 {
			t.Errorf("PIN %s: %d VERIFY APDUs with data, want 1", pin, verifies)
		}
	}
}

func TestPluginErrors(t *testing.T) {
	di, _ := digestInfo("x")
	for _, tc := range []struct {
		name    string
		backend *memBackend
		reader  string
		pin     string
		tries   int // tries to burn first
		di      []byte
		code    error
		text    string
		prompts int
	}{
		{name: "wrong PIN", pin: "9999", code: signer.ErrWrongPIN, text: "wrong PIN, 2 tries left", prompts: 1},
		{name: "last try", pin: "9999", tries: 1, code: signer.ErrWrongPIN, text: "wrong PIN, 1 try left", prompts: 1},
		{name: "blocking", pin: "9999", tries: 2, code: signer.ErrPINBlocked, text: "blocked", prompts: 1},
		{name: "blocked", pin: "1234", tries: 3, code: signer.ErrPINBlocked, text: "no PIN was sent", prompts: 0},
		{name: "PIN not 4 digits", pin: "12345", code: signer.ErrBadRequest, text: "nothing was sent", prompts: 1},
		{name: "not a DigestInfo", pin: "1234", di: []byte("raw bytes"), code: signer.ErrBadRequest, text: "not a SHA-256 DigestInfo"},
		{name: "no reader", backend: &memBackend{}, code: signer.ErrNoReader, text: "no smart card reader"},
		{name: "unknown reader", reader: "nope", code: signer.ErrNoReader, text: `reader "nope" not found; readers: r1`},
		{name: "no card", backend: &memBackend{readers: []string{"r1", "r2"}}, code: signer.ErrNoCard, text: "no card or phone in any reader (readers: r1, r2)"},
		{name: "removed", pin: "1234", backend: &memBackend{removeOn: func(a []byte) bool { return a[1] == 0x2A }}, code: signer.ErrCardRemoved, text: "removed", prompts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := newCard(t, false)
			b := tc.backend
			if b == nil {
				b = &memBackend{}
			}
			if b.readers == nil && tc.name != "no reader" {
				b.readers = []string{"r1"}
				b.cards = map[string]*jpkiemu.Card{"r1": card}
			}
			// Burn tries with wrong PINs through the applet.
			for range tc.tries {
				a, _ := gpse.Select(cardTransport{card})
				a.VerifyPIN([]byte("0000"))
			}
			p := &gpse.Plugin{Backend: b, Reader: tc.reader}
			defer p.Close()
			ui := &fakeUI{pin: tc.pin}
			d := di
			if tc.di != nil {
				d = tc.di
			}
			_, err := p.SignDigestInfo(context.Background(), ui, d)
			if !errors.Is(err, tc.code) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v with %q", err, tc.code, tc.text)
			}
			if len(ui.prompts) != tc.prompts {
				t.Fatalf("%d PIN prompts, want %d", len(ui.prompts), tc.prompts)
			}
		})
	}
}

type cardTransport struct{ c *jpkiemu.Card }

func (t cardTransport) Transmit(apdu []byte) ([]byte, error) { return t.c.Process(apdu), nil }

func TestReaderSelection(t *testing.T) {
	card, phone := newCard(t, false), newCard(t, true)
	b := &memBackend{readers: []string{"a", "b", "c"}, cards: map[string]*jpkiemu.Card{"b": card, "c": phone}}
	ui := &fakeUI{pin: "1234"}
	p := &gpse.Plugin{Backend: b}
	di, _ := digestInfo("x")
	if _, err := p.SignDigestInfo(context.Background(), ui, di); err != nil {
		t.Fatal(err)
	}
	if card.Signatures() != 1 || phone.Signatures() != 0 {
		t.Fatal("did not use the first reader holding a JPKI applet")
	}
	p = &gpse.Plugin{Backend: b, Reader: "c"}
	if _, err := p.SignDigestInfo(context.Background(), ui, di); err != nil {
		t.Fatal(err)
	}
	if phone.Signatures() != 1 {
		t.Fatal("--reader ignored")
	}
}
