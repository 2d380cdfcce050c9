package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idledger/idledger/internal/testutil"
	"github.com/idledger/idledger/signer/internal/pluginwire"
)

// The test binary doubles as the plugin idledger-signer-test (age's
// pattern): a symlink with that name on PATH runs TestMain, which serves the
// protocol instead of running tests. IDLEDGER_TEST_PLUGIN_MODE picks a
// behaviour; IDLEDGER_TEST_PLUGIN_KEY names the PEM key and certificate.
func TestMain(m *testing.M) {
	if strings.HasPrefix(filepath.Base(os.Args[0]), PluginPrefix) {
		os.Exit(fakePluginMain())
	}
	os.Exit(m.Run())
}

const testPIN = "1234"

type fakePlugin struct {
	mode string
	key  *rsa.PrivateKey
	cert []byte
}

func fakePluginMain() int {
	mode := os.Getenv("IDLEDGER_TEST_PLUGIN_MODE")
	switch mode {
	case "garbage":
		io.ReadAll(io.LimitReader(os.Stdin, 10)) // wait for hello
		fmt.Println("this is not JSON")
		return 0
	case "huge":
		os.Stdout.Write(bytes.Repeat([]byte("a"), pluginwire.MaxFrame+1))
		return 0
	case "hang":
		io.ReadAll(os.Stdin)
		return 0
	case "exit":
		return 3
	}
	p := &fakePlugin{mode: mode}
	pemBytes, err := os.ReadFile(os.Getenv("IDLEDGER_TEST_PLUGIN_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		var b *pem.Block
		b, pemBytes = pem.Decode(pemBytes)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			p.cert = b.Bytes
		case "RSA PRIVATE KEY":
			p.key, _ = x509.ParsePKCS1PrivateKey(b.Bytes)
		}
	}
	var debug io.Writer
	if os.Getenv("IDLEDGER_SIGNER_DEBUG") == "1" {
		debug = os.Stderr
	}
	in := io.Reader(os.Stdin)
	if mode == "oldversion" {
		// Pretend to be a plugin that speaks only version 2.
		r := pluginwire.NewReader(os.Stdin)
		r.ReadMsg()
		f, _ := pluginwire.Encode(&pluginwire.Msg{Type: pluginwire.TypeError, Code: string(CodeUnsupported), Message: "plugin speaks protocol version 2"})
		os.Stdout.Write(f)
		return 1
	}
	if err := ServePlugin(context.Background(), p, in, os.Stdout, ServeOptions{Name: "test", Version: "v0", Debug: debug}); err != nil {
		fmt.Fprintln(os.Stderr, "plugin:", err)
		return 1
	}
	return 0
}

func (p *fakePlugin) Certificate(ctx context.Context, ui PluginUI) ([]byte, error) {
	if p.mode == "nocard" {
		return nil, fmt.Errorf("no JPKI card in any reader: %w", ErrNoCard)
	}
	return p.cert, nil
}

func (p *fakePlugin) SignDigestInfo(ctx context.Context, ui PluginUI, di []byte) ([]byte, error) {
	if len(di) != 51 {
		return nil, &PluginError{Code: CodeBadRequest, Message: "not a SHA-256 DigestInfo"}
	}
	switch p.mode {
	case "blocked":
		return nil, &PluginError{Code: CodePINBlocked, Message: "the PIN is blocked"}
	case "unknown-interactive":
		// Send an interactive request of a later revision; the client
		// must answer unsupported and carry on.
		s := ui.(*server)
		if _, err := s.ask(&pluginwire.Msg{Type: "show-qr-code", Text: "x"}, "qr-shown"); !errors.Is(err, ErrUnsupported) {
			return nil, fmt.Errorf("unknown interactive request: got %v, want unsupported", err)
		}
	case "message":
		if err := ui.Message("\x1b[31mhold\x1b[0m the card\non the reader"); err != nil {
			return nil, err
		}
		ok, err := ui.Confirm("sign?", "sign", "stop")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &PluginError{Code: CodeCancelled, Message: "not confirmed"}
		}
	}
	pin, err := ui.AskPIN("PIN for the test key")
	if err != nil {
		return nil, err
	}
	defer clear(pin)
	if p.mode == "wrongpin" || string(pin) != testPIN {
		return nil, &PluginError{Code: CodeWrongPIN, TriesLeft: 2}
	}
	if p.mode == "envdump" {
		// What anyone with the user's rights sees in /proc/PID/environ,
		// and what the process itself can read.
		dump, err := os.ReadFile("/proc/self/environ")
		if err != nil {
			return nil, err
		}
		dump = append(dump, []byte(strings.Join(os.Environ(), "\x00"))...)
		if err := os.WriteFile(os.Getenv("IDLEDGER_TEST_PLUGIN_ENV_DUMP"), dump, 0o600); err != nil {
			return nil, err
		}
	}
	return rsa.SignPKCS1v15(nil, p.key, 0, di)
}

// scriptUI answers from fields and records what it was asked.
type scriptUI struct {
	mu       sync.Mutex
	pin      string
	pinErr   error
	confirm  bool
	asked    []string
	messages []string
	given    [][]byte
}

func (u *scriptUI) AskPIN(prompt string) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = append(u.asked, prompt)
	if u.pinErr != nil {
		return nil, u.pinErr
	}
	b := []byte(u.pin)
	u.given = append(u.given, b)
	return b, nil
}

func (u *scriptUI) Confirm(prompt, yes, no string) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = append(u.asked, prompt+" "+yes+"/"+no)
	return u.confirm, nil
}

func (u *scriptUI) Message(text string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.messages = append(u.messages, text)
	return nil
}

type testKey struct {
	key  *rsa.PrivateKey
	cert []byte
	path string
}

// installPlugin puts idledger-signer-test on a fresh PATH and returns the
// key the plugin signs with.
func installPlugin(t *testing.T, mode string) testKey {
	t.Helper()
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, PluginPrefix+"test")); err != nil {
		t.Fatal(err)
	}
	key, cert := testutil.Holder("holder1")
	k := testKey{key: key, cert: cert}
	k.path = filepath.Join(dir, "key.pem")
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: k.cert})
	pem.Encode(&buf, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.key)})
	if err := os.WriteFile(k.path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv("IDLEDGER_TEST_PLUGIN_MODE", mode)
	t.Setenv("IDLEDGER_TEST_PLUGIN_KEY", k.path)
	t.Setenv("IDLEDGER_SIGNER_DEBUG", "")
	return k
}

var sha256Prefix = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

func digestInfo(msg string) ([]byte, []byte) {
	h := sha256.Sum256([]byte(msg))
	return append(bytes.Clone(sha256Prefix), h[:]...), h[:]
}

func openTest(t *testing.T, ui PluginUI, opts PluginOptions) *PluginSigner {
	t.Helper()
	opts.UI = ui
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	p, err := OpenPlugin("test", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPluginNames(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, name := range []string{"", "a/b", "../gpse", `a\b`, "-x", "a b", "ｇｐｓｅ"} {
		if _, err := OpenPlugin(name, PluginOptions{}); err == nil || strings.Contains(err.Error(), "not found") {
			t.Errorf("OpenPlugin(%q) = %v, want a refusal", name, err)
		}
	}
	_, err := OpenPlugin("nope", PluginOptions{})
	if err == nil || err.Error() != "signer: plugin idledger-signer-nope not found on PATH" {
		t.Fatalf("missing plugin: %v", err)
	}
}

func TestPluginCertificateAndSign(t *testing.T) {
	k := installPlugin(t, "ok")
	ui := &scriptUI{pin: testPIN}
	p := openTest(t, ui, PluginOptions{})
	ctx := context.Background()
	cert, err := p.Certificate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert, k.cert) {
		t.Fatal("certificate differs")
	}
	for i := range 2 { // the plugin process is kept between requests
		di, h := digestInfo(fmt.Sprintf("message %d", i))
		sig, err := p.SignDigestInfo(ctx, di)
		if err != nil {
			t.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&k.key.PublicKey, crypto.SHA256, h, sig); err != nil {
			t.Fatal(err)
		}
	}
	if len(ui.asked) != 2 {
		t.Fatalf("asked %d times, want 2", len(ui.asked))
	}
	for _, b := range ui.given {
		if !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatal("the client did not wipe the PIN")
		}
	}
	// Close, then use again: a new process.
	p.Close()
	if _, err := p.Certificate(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPluginPINNotInEnvironment: a PIN the user put in IDLEDGER_PIN (or in
// any PIN-named variable) reaches the plugin over the protocol, in the pin
// reply to its ask-pin, and is absent from the plugin's environment, which
// /proc/PID/environ shows to anyone with the user's rights.
func TestPluginPINNotInEnvironment(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc/self/environ on this system")
	}
	k := installPlugin(t, "envdump")
	dump := filepath.Join(t.TempDir(), "environ")
	t.Setenv("IDLEDGER_TEST_PLUGIN_ENV_DUMP", dump)
	t.Setenv(PINEnv, testPIN)
	t.Setenv("IDLEDGER_GPSE_PIN", "9876")
	t.Setenv("CARD_PIN", "5432")
	t.Setenv("IDLEDGER_PINNED", "kept") // PIN is not a word of this name
	p := openTest(t, &TerminalUI{}, PluginOptions{})
	di, h := digestInfo("no PIN in /proc")
	sig, err := p.SignDigestInfo(context.Background(), di)
	if err != nil {
		t.Fatal(err) // the plugin answers wrong_pin unless it got testPIN over the protocol
	}
	if err := rsa.VerifyPKCS1v15(&k.key.PublicKey, crypto.SHA256, h, sig); err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case name == PINEnv || name == "IDLEDGER_GPSE_PIN" || name == "CARD_PIN":
			t.Errorf("the plugin's environment holds %s", name)
		case value == testPIN || value == "9876" || value == "5432":
			t.Errorf("the plugin's environment holds a PIN in %s", name)
		}
	}
	for _, kept := range []string{"IDLEDGER_PINNED=kept", "IDLEDGER_TEST_PLUGIN_MODE=envdump"} {
		if !bytes.Contains(env, []byte(kept)) {
			t.Errorf("the plugin's environment lacks %q", kept)
		}
	}
}

func TestPluginErrors(t *testing.T) {
	di, _ := digestInfo("x")
	for _, tc := range []struct {
		mode    string
		ui      *scriptUI
		di      []byte
		opts    PluginOptions
		want    error
		text    string
		prompts int
	}{
		{mode: "wrongpin", ui: &scriptUI{pin: "9999"}, di: di, want: ErrWrongPIN, text: "signer: plugin test: wrong PIN, 2 tries left", prompts: 1},
		{mode: "blocked", ui: &scriptUI{pin: testPIN}, di: di, want: ErrPINBlocked, text: "PIN is blocked", prompts: 0},
		{mode: "ok", ui: &scriptUI{pinErr: errors.New("user pressed ^C")}, di: di, want: ErrCancelled, text: "user pressed ^C", prompts: 1},
		{mode: "ok", ui: &scriptUI{pin: testPIN}, di: []byte{1, 2, 3}, want: ErrBadRequest, text: "not a SHA-256 DigestInfo"},
		{mode: "nocard", ui: &scriptUI{}, want: ErrNoCard, text: "no JPKI card"},
		{mode: "garbage", ui: &scriptUI{}, di: di, want: ErrPluginProtocol, text: "malformed"},
		{mode: "huge", ui: &scriptUI{}, di: di, want: ErrPluginProtocol, text: "larger than 64 KiB"},
		{mode: "exit", ui: &scriptUI{}, di: di, want: ErrPluginProtocol, text: "plugin exited"},
		{mode: "hang", ui: &scriptUI{}, di: di, opts: PluginOptions{Timeout: 300 * time.Millisecond}, want: ErrPluginProtocol, text: "no answer within 300ms"},
		{mode: "oldversion", ui: &scriptUI{}, di: di, text: "speaks none of the protocol versions [1]: plugin speaks protocol version 2"},
		{mode: "message", ui: &scriptUI{pin: testPIN, confirm: false}, di: di, want: ErrCancelled, text: "not confirmed"},
	} {
		t.Run(tc.mode+"/"+tc.text, func(t *testing.T) {
			installPlugin(t, tc.mode)
			p := openTest(t, tc.ui, tc.opts)
			var err error
			if tc.di == nil {
				_, err = p.Certificate(context.Background())
			} else {
				_, err = p.SignDigestInfo(context.Background(), tc.di)
			}
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.text)
			}
			if pins := len(tc.ui.asked); tc.mode != "message" && pins != tc.prompts {
				t.Fatalf("asked for the PIN %d times, want %d", pins, tc.prompts)
			}
		})
	}
}

func TestPluginInteractions(t *testing.T) {
	installPlugin(t, "message")
	ui := &scriptUI{pin: testPIN, confirm: true}
	p := openTest(t, ui, PluginOptions{})
	di, _ := digestInfo("x")
	if _, err := p.SignDigestInfo(context.Background(), di); err != nil {
		t.Fatal(err)
	}
	if len(ui.messages) != 1 || ui.messages[0] != "[31mhold[0m the card on the reader" {
		t.Fatalf("messages %q: control characters must be stripped", ui.messages)
	}
	if len(ui.asked) != 2 || ui.asked[0] != "sign? sign/stop" {
		t.Fatalf("asked %q", ui.asked)
	}

	installPlugin(t, "unknown-interactive")
	p = openTest(t, &scriptUI{pin: testPIN}, PluginOptions{})
	if _, err := p.SignDigestInfo(context.Background(), di); err != nil {
		t.Fatal(err)
	}
}

func TestPluginNoUI(t *testing.T) {
	installPlugin(t, "ok")
	p := openTest(t, nil, PluginOptions{})
	di, _ := digestInfo("x")
	if _, err := p.SignDigestInfo(context.Background(), di); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v, want unsupported", err)
	}
}

func TestPluginDebugRedactsPIN(t *testing.T) {
	installPlugin(t, "ok")
	t.Setenv("IDLEDGER_SIGNER_DEBUG", "1")
	var stderr testutil.SyncBuffer
	p := openTest(t, &scriptUI{pin: testPIN}, PluginOptions{Stderr: &stderr})
	di, _ := digestInfo("x")
	if _, err := p.SignDigestInfo(context.Background(), di); err != nil {
		t.Fatal(err)
	}
	p.Close()
	out := stderr.String()
	for _, want := range []string{`> {"type":"hello","versions":[1]`, `< {"type":"ask-pin"`, `"type":"pin","id":1} (pin redacted)`, `plugin: < {"type":"pin","id":1} (pin redacted)`} {
		if !strings.Contains(out, want) {
			t.Errorf("debug output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MTIzNA") || strings.Contains(out, testPIN) {
		t.Fatalf("debug output leaks the PIN:\n%s", out)
	}
}

func TestPluginContextCancel(t *testing.T) {
	installPlugin(t, "hang")
	p := openTest(t, &scriptUI{}, PluginOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := p.Certificate(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// The hung plugin was killed; the next request starts a fresh one.
	t.Setenv("IDLEDGER_TEST_PLUGIN_MODE", "ok")
	if _, err := p.Certificate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestServePlugin drives the plugin side in-process.
func TestOpenPluginSignerNilOnError(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	s, err := openPluginSigner("gpse")
	if err == nil || s != nil {
		t.Fatalf("got %#v, %v: want a nil Signer and an error", s, err)
	}
}
