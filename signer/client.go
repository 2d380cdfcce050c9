package signer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/idledger/idledger/signer/internal/pluginwire"
)

// This file is the client side of the signer plugin protocol
// (docs/signer-plugin-protocol.md): PluginSigner runs idledger-signer-NAME
// and is a Signer.

// PluginPrefix is the start of every plugin executable's name.
const PluginPrefix = "idledger-signer-"

// DefaultPluginTimeout is the longest the client waits for the plugin's next
// frame when PluginOptions.Timeout is zero. Time spent with the user (a PIN
// prompt) does not count.
const DefaultPluginTimeout = 60 * time.Second

// PluginOptions configure a PluginSigner.
type PluginOptions struct {
	// UI answers the plugin's PIN, confirmation and message requests. Nil
	// answers them as unsupported, so a plugin that needs a PIN fails.
	UI PluginUI
	// Debug copies the exchange to Stderr, PINs redacted. The environment
	// variable IDLEDGER_SIGNER_DEBUG=1 turns it on too (and is passed on to
	// the plugin, which then logs its own side).
	Debug bool
	// Timeout bounds each wait for the plugin; zero means
	// DefaultPluginTimeout.
	Timeout time.Duration
	// Stderr receives the plugin's standard error and the debug copy; nil
	// means os.Stderr.
	Stderr io.Writer
}

// PluginSigner is a Signer backed by a plugin process. It starts the
// plugin on first use and keeps it for later requests (so a card session,
// and a PIN verified in it, lasts across Certificate and SignDigestInfo);
// Close stops it. Requests are serialised.
type PluginSigner struct {
	name string
	path string
	opts PluginOptions

	mu      sync.Mutex
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	frames  chan frameResult
	waitErr chan error
	nextID  uint64
	cert    []byte
}

var _ Signer = (*PluginSigner)(nil)

type frameResult struct {
	msg *pluginwire.Msg
	err error
}

// CheckPluginName refuses plugin names that are empty, hold a path
// separator, or characters other than letters, digits, '.', '_' and '-'.
func CheckPluginName(name string) error {
	if name == "" {
		return errors.New("signer: empty plugin name")
	}
	if strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, os.PathSeparator) {
		return fmt.Errorf("signer: plugin name %q holds a path separator", name)
	}
	for _, r := range name {
		if !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-')) {
			return fmt.Errorf("signer: plugin name %q holds a character other than letters, digits, '.', '_', '-'", name)
		}
	}
	if name[0] == '-' || name[0] == '.' {
		return fmt.Errorf("signer: plugin name %q starts with %q", name, name[0])
	}
	return nil
}

// OpenPlugin finds idledger-signer-NAME on PATH. The plugin is started by
// the first request.
func OpenPlugin(name string, opts PluginOptions) (*PluginSigner, error) {
	if err := CheckPluginName(name); err != nil {
		return nil, err
	}
	path, err := exec.LookPath(PluginPrefix + name)
	if err != nil {
		return nil, fmt.Errorf("signer: plugin %s%s not found on PATH", PluginPrefix, name)
	}
	if os.Getenv("IDLEDGER_SIGNER_DEBUG") == "1" {
		opts.Debug = true
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultPluginTimeout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	return &PluginSigner{name: name, path: path, opts: opts}, nil
}

// openPluginSigner is OpenPlugin for signer.Open: the terminal UI, and a
// nil Signer (not a nil *PluginSigner) on error.
func openPluginSigner(name string) (Signer, error) {
	p, err := OpenPlugin(name, PluginOptions{UI: &TerminalUI{}})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Name returns the plugin's name (gpse for idledger-signer-gpse).
func (p *PluginSigner) Name() string { return p.name }

func (p *PluginSigner) debugf(format string, args ...any) {
	if p.opts.Debug {
		fmt.Fprintf(p.opts.Stderr, "signer: plugin %s: "+format+"\n", append([]any{p.name}, args...)...)
	}
}

func (p *PluginSigner) protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrPluginProtocol, p.name, fmt.Sprintf(format, args...))
}

// start runs the plugin and does the version handshake. Called with p.mu held.
func (p *PluginSigner) start(ctx context.Context) error {
	cmd := exec.Command(p.path)
	cmd.Env = pluginEnv(os.Environ())
	cmd.Stderr = p.opts.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	// Our own pipe rather than cmd.StdoutPipe: Wait closes that one as soon
	// as the plugin exits, racing the reader for its last frames (and for
	// the EOF that says "plugin exited").
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		stdin.Close()
		return err
	}
	cmd.Stdout = stdoutW
	err = cmd.Start()
	stdoutW.Close()
	if err != nil {
		stdin.Close()
		stdout.Close()
		return fmt.Errorf("signer: starting plugin %s: %w", p.name, err)
	}
	p.debugf("started %s (pid %d)", p.path, cmd.Process.Pid)
	p.cmd, p.stdin = cmd, stdin
	p.frames = make(chan frameResult)
	p.waitErr = make(chan error, 1)
	go func(frames chan<- frameResult) {
		defer stdout.Close()
		r := pluginwire.NewReader(stdout)
		for {
			m, err := r.ReadMsg()
			frames <- frameResult{m, err}
			if err != nil {
				close(frames)
				return
			}
		}
	}(p.frames)
	go func() { p.waitErr <- cmd.Wait() }()

	if err := p.send(&pluginwire.Msg{Type: pluginwire.TypeHello, Versions: []int{pluginwire.Version}, Client: "idledger"}); err != nil {
		return p.fail(err)
	}
	m, err := p.receive(ctx)
	if err != nil {
		return p.fail(err)
	}
	switch {
	case m.Type == pluginwire.TypeHelloOK && m.Version == pluginwire.Version:
		p.debugf("speaks protocol version %d (%s %s)", m.Version, sanitize(m.Plugin), sanitize(m.PluginVersion))
		return nil
	case m.Type == pluginwire.TypeError:
		return p.fail(fmt.Errorf("signer: plugin %s speaks none of the protocol versions [%d]: %s", p.name, pluginwire.Version, sanitize(m.Message)))
	default:
		return p.fail(p.protocolError("answered hello with %q version %d", m.Type, m.Version))
	}
}

// pluginEnv is the environment a plugin starts in: the client's, without
// any variable that may hold a PIN (PINEnv, and every variable with PIN as
// one of the words of its name: IDLEDGER_GPSE_PIN, PIN, CARD_PIN_CODE). A
// process's environment is readable in /proc/PID/environ by its user for
// the process's whole life and cannot be wiped; the PIN reaches a plugin
// only in a pin reply to its ask-pin.
func pluginEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !pinVariable(name) {
			out = append(out, kv)
		}
	}
	return out
}

// pinVariable reports an environment variable name that may hold a PIN.
func pinVariable(name string) bool {
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if strings.EqualFold(w, "PIN") {
			return true
		}
	}
	return false
}

// fail stops the plugin after a protocol error, a timeout or a cancelled
// context, and returns err. The next request starts a new plugin.
func (p *PluginSigner) fail(err error) error {
	p.stop(0)
	return err
}

// stop ends the plugin: closing stdin asks it to exit; after grace it is
// killed.
func (p *PluginSigner) stop(grace time.Duration) {
	if p.cmd == nil {
		return
	}
	p.stdin.Close()
	select {
	case <-p.waitErr:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.waitErr
	}
	// Drain the reader goroutine.
	go func(c <-chan frameResult) {
		for range c {
		}
	}(p.frames)
	p.cmd = nil
}

func (p *PluginSigner) send(m *pluginwire.Msg) error {
	frame, err := pluginwire.Encode(m)
	if err != nil {
		return err
	}
	p.debugf("> %s", pluginwire.LogLine(m))
	_, err = p.stdin.Write(frame)
	pluginwire.Wipe(frame)
	if err != nil {
		return fmt.Errorf("signer: writing to plugin %s: %w", p.name, err)
	}
	return nil
}

func (p *PluginSigner) receive(ctx context.Context) (*pluginwire.Msg, error) {
	t := time.NewTimer(p.opts.Timeout)
	defer t.Stop()
	select {
	case f, ok := <-p.frames:
		if !ok {
			return nil, p.protocolError("plugin output closed")
		}
		if f.err != nil {
			if errors.Is(f.err, io.EOF) || errors.Is(f.err, io.ErrUnexpectedEOF) {
				return nil, p.protocolError("plugin exited")
			}
			return nil, p.protocolError("%v", f.err)
		}
		p.debugf("< %s", pluginwire.LogLine(f.msg))
		return f.msg, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("signer: plugin %s: %w", p.name, ctx.Err())
	case <-t.C:
		return nil, p.protocolError("no answer within %v", p.opts.Timeout)
	}
}

// Certificate returns the DER user-authentication certificate.
func (p *PluginSigner) Certificate(ctx context.Context) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cert != nil {
		return bytes.Clone(p.cert), nil
	}
	m, err := p.request(ctx, &pluginwire.Msg{Type: pluginwire.TypeGetCertificate}, pluginwire.TypeCertificate)
	if err != nil {
		return nil, err
	}
	if len(m.Certificate) == 0 {
		return nil, p.fail(p.protocolError("empty certificate"))
	}
	p.cert = m.Certificate
	return bytes.Clone(p.cert), nil
}

// SignDigestInfo asks the plugin to sign digestInfo.
func (p *PluginSigner) SignDigestInfo(ctx context.Context, digestInfo []byte) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.request(ctx, &pluginwire.Msg{Type: pluginwire.TypeSignDigestInfo, DigestInfo: digestInfo}, pluginwire.TypeSignature)
	if err != nil {
		return nil, err
	}
	if len(m.Signature) == 0 {
		return nil, p.fail(p.protocolError("empty signature"))
	}
	return m.Signature, nil
}

// Close stops the plugin. The PluginSigner can be used again afterwards; it
// starts a new plugin process.
func (p *PluginSigner) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.send(&pluginwire.Msg{Type: pluginwire.TypeBye})
		p.stop(5 * time.Second)
	}
	return nil
}

// request runs one request to completion: it answers the plugin's
// interactive requests until a reply of type want or an error arrives.
// Called with p.mu held.
func (p *PluginSigner) request(ctx context.Context, req *pluginwire.Msg, want string) (*pluginwire.Msg, error) {
	if p.cmd == nil {
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	p.nextID++
	req.ID = p.nextID
	if err := p.send(req); err != nil {
		return nil, p.fail(err)
	}
	for {
		m, err := p.receive(ctx)
		if err != nil {
			return nil, p.fail(err)
		}
		if m.ID != req.ID {
			return nil, p.fail(p.protocolError("%q for request %d while request %d is open", m.Type, m.ID, req.ID))
		}
		switch m.Type {
		case want:
			return m, nil
		case pluginwire.TypeError:
			tries := -1
			if m.TriesLeft != nil {
				tries = *m.TriesLeft
			}
			code := ErrorCode(m.Code)
			if _, known := codeErrors[code]; !known {
				code = CodeInternal
			}
			return nil, &PluginError{Plugin: p.name, Code: code, Message: sanitize(m.Message), TriesLeft: tries}
		case pluginwire.TypeAskPIN, pluginwire.TypeConfirm, pluginwire.TypeMessage:
			reply := p.interact(m)
			reply.ID = req.ID
			err := p.send(reply)
			pluginwire.Wipe(reply.PIN)
			if err != nil {
				return nil, p.fail(err)
			}
		case pluginwire.TypeCertificate, pluginwire.TypeSignature, pluginwire.TypeHelloOK:
			return nil, p.fail(p.protocolError("%q in answer to %q", m.Type, req.Type))
		default:
			// An interactive request from a newer protocol revision.
			if err := p.send(&pluginwire.Msg{Type: pluginwire.TypeUnsupported, ID: req.ID}); err != nil {
				return nil, p.fail(err)
			}
		}
	}
}

// interact passes one interactive request to the UI and builds the reply.
func (p *PluginSigner) interact(m *pluginwire.Msg) *pluginwire.Msg {
	ui := p.opts.UI
	if ui == nil {
		return &pluginwire.Msg{Type: pluginwire.TypeUnsupported}
	}
	cancelled := func(err error) *pluginwire.Msg {
		return &pluginwire.Msg{Type: pluginwire.TypeError, Code: string(CodeCancelled), Message: err.Error()}
	}
	switch m.Type {
	case pluginwire.TypeAskPIN:
		pin, err := ui.AskPIN(sanitize(m.Prompt))
		if err != nil {
			return cancelled(err)
		}
		return &pluginwire.Msg{Type: pluginwire.TypePIN, PIN: pin}
	case pluginwire.TypeConfirm:
		ok, err := ui.Confirm(sanitize(m.Prompt), sanitize(m.Yes), sanitize(m.No))
		if err != nil {
			return cancelled(err)
		}
		return &pluginwire.Msg{Type: pluginwire.TypeConfirmResult, Confirmed: ok}
	default:
		if err := ui.Message(sanitize(m.Text)); err != nil {
			return cancelled(err)
		}
		return &pluginwire.Msg{Type: pluginwire.TypeOK}
	}
}
