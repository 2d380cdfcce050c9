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

	"golang.org/x/term"

	"github.com/idledger/idledger/signer/internal/pluginwire"
)

// This file holds both ends of the signer plugin protocol
// (docs/signer-plugin-protocol.md): the client, PluginSigner, which runs
// idledger-signer-NAME and is a Signer; and the plugin side, ServePlugin,
// which a plugin's main calls with its PluginHandler.

// PluginPrefix is the start of every plugin executable's name.
const PluginPrefix = "idledger-signer-"

// DefaultPluginTimeout is the longest the client waits for the plugin's next
// frame when PluginOptions.Timeout is zero. Time spent with the user (a PIN
// prompt) does not count.
const DefaultPluginTimeout = 60 * time.Second

// Errors a PluginSigner returns, wrapped in a *PluginError; test them with
// errors.Is. A plugin handler returns them (or a *PluginError) to choose the
// error code sent to the client.
var (
	// ErrWrongPIN: the PIN was wrong; PluginError.TriesLeft says how many
	// tries remain. Callers must not retry on their own.
	ErrWrongPIN = errors.New("signer: wrong PIN")
	// ErrPINBlocked: the PIN is blocked; only the issuer can unblock it.
	ErrPINBlocked = errors.New("signer: PIN blocked")
	// ErrNoCard: no card or phone holding the applet is in any reader.
	ErrNoCard = errors.New("signer: no card")
	// ErrNoReader: no smart card reader (or the named one) is there.
	ErrNoReader = errors.New("signer: no reader")
	// ErrCardRemoved: the card or phone left the reader during the operation.
	ErrCardRemoved = errors.New("signer: card removed")
	// ErrUnsupported: the plugin or the client does not support a request.
	ErrUnsupported = errors.New("signer: unsupported")
	// ErrCancelled: the user declined (no PIN given, confirmation refused).
	ErrCancelled = errors.New("signer: cancelled")
	// ErrBadRequest: the request was malformed (for instance not a SHA-256
	// DigestInfo).
	ErrBadRequest = errors.New("signer: bad request")
	// ErrPluginProtocol: the plugin broke the protocol (malformed or
	// oversized frame, unexpected message, timeout); the plugin is stopped.
	ErrPluginProtocol = errors.New("signer: plugin protocol error")
)

var codeErrors = map[string]error{
	pluginwire.CodeWrongPIN:    ErrWrongPIN,
	pluginwire.CodePINBlocked:  ErrPINBlocked,
	pluginwire.CodeNoCard:      ErrNoCard,
	pluginwire.CodeNoReader:    ErrNoReader,
	pluginwire.CodeCardRemoved: ErrCardRemoved,
	pluginwire.CodeUnsupported: ErrUnsupported,
	pluginwire.CodeCancelled:   ErrCancelled,
	pluginwire.CodeBadRequest:  ErrBadRequest,
}

// PluginError is an error reported by a plugin (or, on the plugin side, to
// be reported to the client).
type PluginError struct {
	Plugin    string // plugin name, "gpse"; empty on the plugin side
	Code      string // one of the protocol's codes; unknown codes act as "internal"
	Message   string // human-readable, from the plugin
	TriesLeft int    // for wrong_pin: tries remaining; -1 when unknown
}

func (e *PluginError) Error() string {
	var b strings.Builder
	b.WriteString("signer: ")
	if e.Plugin != "" {
		b.WriteString("plugin " + e.Plugin + ": ")
	}
	switch {
	case e.Code == pluginwire.CodeWrongPIN && e.TriesLeft >= 0:
		fmt.Fprintf(&b, "wrong PIN, %d %s left", e.TriesLeft, plural(e.TriesLeft, "try", "tries"))
		if e.TriesLeft == 1 {
			b.WriteString(" (one more wrong PIN blocks it)")
		}
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Code == pluginwire.CodePINBlocked:
		b.WriteString("PIN blocked; it can only be reset at the issuing municipality")
	default:
		b.WriteString(strings.ReplaceAll(e.Code, "_", " "))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrWrongPIN) and the like work.
func (e *PluginError) Is(target error) bool {
	return codeErrors[e.Code] == target && target != nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// PluginUI is how a plugin reaches the user, through the client. The PIN
// returned by AskPIN belongs to the caller, which wipes it after use.
type PluginUI interface {
	AskPIN(prompt string) (secret []byte, err error)
	Confirm(prompt, yes, no string) (bool, error)
	Message(text string) error
}

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
			code := m.Code
			if _, known := codeErrors[code]; !known {
				code = pluginwire.CodeInternal
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
		return &pluginwire.Msg{Type: pluginwire.TypeError, Code: pluginwire.CodeCancelled, Message: err.Error()}
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

// sanitize keeps plugin-supplied text from carrying terminal control
// sequences, and bounds its length.
func sanitize(s string) string {
	const max = 1024
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// PluginHandler is what a plugin implements. ui relays requests to the
// user through the client; a PIN it returns must be wiped by the handler.
// Return ErrWrongPIN, ErrNoCard… (wrapped) or a *PluginError to choose the
// error code; any other error is sent as "internal".
type PluginHandler interface {
	Certificate(ctx context.Context, ui PluginUI) ([]byte, error)
	SignDigestInfo(ctx context.Context, ui PluginUI, digestInfo []byte) ([]byte, error)
}

// ServeOptions configure ServePlugin.
type ServeOptions struct {
	Name    string    // the plugin's name, sent in hello-ok
	Version string    // the plugin's own version, sent in hello-ok
	Debug   io.Writer // if set, the exchange is copied there, PINs redacted
}

// ServePlugin is the plugin side of the protocol: it reads requests from in,
// calls h, and writes replies to out, until the client says bye or closes
// in. It returns nil then, or the protocol error that ended it.
func ServePlugin(ctx context.Context, h PluginHandler, in io.Reader, out io.Writer, opts ServeOptions) error {
	s := &server{r: pluginwire.NewReader(in), w: out, debug: opts.Debug}
	m, err := s.read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	if m.Type != pluginwire.TypeHello {
		s.write(&pluginwire.Msg{Type: pluginwire.TypeError, Code: pluginwire.CodeUnsupported, Message: "expected hello"})
		return fmt.Errorf("%w: first message %q, want hello", ErrPluginProtocol, m.Type)
	}
	if !containsInt(m.Versions, pluginwire.Version) {
		s.write(&pluginwire.Msg{Type: pluginwire.TypeError, Code: pluginwire.CodeUnsupported,
			Message: fmt.Sprintf("plugin speaks protocol version %d, client offers %v", pluginwire.Version, m.Versions)})
		return fmt.Errorf("%w: client offers versions %v", ErrUnsupported, m.Versions)
	}
	if err := s.write(&pluginwire.Msg{Type: pluginwire.TypeHelloOK, Version: pluginwire.Version, Plugin: opts.Name, PluginVersion: opts.Version}); err != nil {
		return err
	}
	for {
		m, err := s.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		s.id = m.ID
		var reply *pluginwire.Msg
		switch m.Type {
		case pluginwire.TypeBye:
			return nil
		case pluginwire.TypeGetCertificate:
			var cert []byte
			cert, err = h.Certificate(ctx, s)
			reply = &pluginwire.Msg{Type: pluginwire.TypeCertificate, Certificate: cert}
		case pluginwire.TypeSignDigestInfo:
			var sig []byte
			sig, err = h.SignDigestInfo(ctx, s, m.DigestInfo)
			reply = &pluginwire.Msg{Type: pluginwire.TypeSignature, Signature: sig}
		default:
			err = &PluginError{Code: pluginwire.CodeUnsupported, Message: fmt.Sprintf("unsupported request %q", sanitize(m.Type))}
		}
		if s.fatal != nil {
			return s.fatal
		}
		if err != nil {
			reply = errorMsg(err)
		}
		reply.ID = m.ID
		if err := s.write(reply); err != nil {
			return err
		}
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func errorMsg(err error) *pluginwire.Msg {
	m := &pluginwire.Msg{Type: pluginwire.TypeError, Code: pluginwire.CodeInternal, Message: err.Error()}
	var pe *PluginError
	if errors.As(err, &pe) {
		m.Code = pe.Code
		if pe.Message != "" {
			m.Message = pe.Message
		}
		if pe.Code == pluginwire.CodeWrongPIN && pe.TriesLeft >= 0 {
			t := pe.TriesLeft
			m.TriesLeft = &t
		}
		return m
	}
	for code, sentinel := range codeErrors {
		if errors.Is(err, sentinel) {
			m.Code = code
			break
		}
	}
	return m
}

// server is the plugin side's state, and the PluginUI handed to handlers.
type server struct {
	r     *pluginwire.Reader
	w     io.Writer
	debug io.Writer
	id    uint64
	fatal error // a protocol error seen inside an interaction
}

func (s *server) read() (*pluginwire.Msg, error) {
	m, err := s.r.ReadMsg()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrPluginProtocol, err)
	}
	if s.debug != nil {
		fmt.Fprintf(s.debug, "plugin: < %s\n", pluginwire.LogLine(m))
	}
	return m, nil
}

func (s *server) write(m *pluginwire.Msg) error {
	frame, err := pluginwire.Encode(m)
	if err != nil {
		return err
	}
	if s.debug != nil {
		fmt.Fprintf(s.debug, "plugin: > %s\n", pluginwire.LogLine(m))
	}
	_, err = s.w.Write(frame)
	return err
}

// ask sends an interactive request and reads its reply.
func (s *server) ask(m *pluginwire.Msg, want string) (*pluginwire.Msg, error) {
	if s.fatal != nil {
		return nil, s.fatal
	}
	m.ID = s.id
	if err := s.write(m); err != nil {
		s.fatal = err
		return nil, err
	}
	r, err := s.read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: client closed the connection", ErrCancelled)
		}
		s.fatal = err
		return nil, err
	}
	if r.ID != s.id {
		s.fatal = fmt.Errorf("%w: reply for request %d while %d is open", ErrPluginProtocol, r.ID, s.id)
		return nil, s.fatal
	}
	switch r.Type {
	case want:
		return r, nil
	case pluginwire.TypeUnsupported:
		return nil, &PluginError{Code: pluginwire.CodeUnsupported, Message: "the client cannot answer " + m.Type}
	case pluginwire.TypeError:
		pluginwire.Wipe(r.PIN)
		return nil, &PluginError{Code: pluginwire.CodeCancelled, Message: "cancelled: " + sanitize(r.Message)}
	default:
		pluginwire.Wipe(r.PIN)
		s.fatal = fmt.Errorf("%w: %q in answer to %q", ErrPluginProtocol, r.Type, m.Type)
		return nil, s.fatal
	}
}

func (s *server) AskPIN(prompt string) ([]byte, error) {
	r, err := s.ask(&pluginwire.Msg{Type: pluginwire.TypeAskPIN, Prompt: prompt}, pluginwire.TypePIN)
	if err != nil {
		return nil, err
	}
	return r.PIN, nil
}

func (s *server) Confirm(prompt, yes, no string) (bool, error) {
	r, err := s.ask(&pluginwire.Msg{Type: pluginwire.TypeConfirm, Prompt: prompt, Yes: yes, No: no}, pluginwire.TypeConfirmResult)
	if err != nil {
		return false, err
	}
	return r.Confirmed, nil
}

func (s *server) Message(text string) error {
	_, err := s.ask(&pluginwire.Msg{Type: pluginwire.TypeMessage, Text: text}, pluginwire.TypeOK)
	return err
}

// TerminalUI is the PluginUI of the command line. The PIN comes, in this
// order, from PINFile, from the environment variable IDLEDGER_PIN, or from a
// prompt on the controlling terminal without echo. Messages and prompts go to
// Out.
type TerminalUI struct {
	PINFile   string    // a file holding the PIN (a trailing newline is dropped)
	AssumeYes bool      // answer confirmations with yes
	Out       io.Writer // nil: os.Stderr
	// TTY is the terminal to prompt on; nil opens /dev/tty when needed.
	TTY *os.File
}

var _ PluginUI = (*TerminalUI)(nil)

// PINEnv is the environment variable TerminalUI reads a PIN from. A PIN in
// the environment cannot be wiped from the process; prefer a PIN file or the
// prompt.
const PINEnv = "IDLEDGER_PIN"

func (t *TerminalUI) out() io.Writer {
	if t.Out == nil {
		return os.Stderr
	}
	return t.Out
}

func (t *TerminalUI) tty() (*os.File, func(), error) {
	if t.TTY != nil {
		return t.TTY, func() {}, nil
	}
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("signer: no terminal to ask on (set %s or use a PIN file): %w", PINEnv, err)
	}
	return f, func() { f.Close() }, nil
}

// AskPIN returns the PIN; the caller wipes it.
func (t *TerminalUI) AskPIN(prompt string) ([]byte, error) {
	if t.PINFile != "" {
		b, err := os.ReadFile(t.PINFile)
		if err != nil {
			return nil, fmt.Errorf("signer: reading PIN file: %w", err)
		}
		pin := bytes.TrimRight(b, "\r\n")
		out := bytes.Clone(pin)
		pluginwire.Wipe(b)
		return out, nil
	}
	if v, ok := os.LookupEnv(PINEnv); ok {
		return []byte(v), nil
	}
	f, done, err := t.tty()
	if err != nil {
		return nil, err
	}
	defer done()
	if !term.IsTerminal(int(f.Fd())) {
		return nil, fmt.Errorf("signer: %s is not a terminal (set %s or use a PIN file)", f.Name(), PINEnv)
	}
	fmt.Fprintf(f, "%s: ", prompt)
	pin, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(f)
	if err != nil {
		return nil, fmt.Errorf("signer: reading PIN: %w", err)
	}
	if len(pin) == 0 {
		return nil, errors.New("signer: no PIN entered")
	}
	return pin, nil
}

// Confirm asks a yes/no question on the terminal.
func (t *TerminalUI) Confirm(prompt, yes, no string) (bool, error) {
	if t.AssumeYes {
		fmt.Fprintf(t.out(), "%s: %s\n", prompt, orDefault(yes, "yes"))
		return true, nil
	}
	f, done, err := t.tty()
	if err != nil {
		return false, err
	}
	defer done()
	fmt.Fprintf(f, "%s [%s/%s]: ", prompt, orDefault(yes, "y"), orDefault(no, "N"))
	var line [64]byte
	n, _ := f.Read(line[:])
	ans := strings.ToLower(strings.TrimSpace(string(line[:n])))
	return ans == "y" || ans == "yes" || (yes != "" && ans == strings.ToLower(yes)), nil
}

// Message shows text to the user.
func (t *TerminalUI) Message(text string) error {
	_, err := fmt.Fprintln(t.out(), text)
	return err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
