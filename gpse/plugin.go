package gpse

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/idledger/idledger/gpse/internal/pcsc"
	"github.com/idledger/idledger/signer"
)

// Backend is the reader side: pcscd in production (PCSC), an in-process
// emulator in tests.
type Backend interface {
	ListReaders() ([]string, error)
	// Connect connects to the card in reader; an empty reader gives an
	// error wrapping ErrNoCardInReader.
	Connect(reader string) (Conn, error)
	Close() error
}

// Conn is a connection to one card.
type Conn interface {
	Transport
	// Close ends the connection; reset asks the reader to reset the card,
	// which clears the applet's security state.
	Close(reset bool) error
}

// Errors of a Backend.
var (
	// ErrNoCardInReader: the reader is empty.
	ErrNoCardInReader = errors.New("gpse: no card in the reader")
	// ErrNoService: pcscd cannot be reached.
	ErrNoService = errors.New("gpse: cannot reach pcscd")
	// errCardReset: another program reset the card; reconnecting helps.
	errCardReset = errors.New("gpse: the card was reset")
)

// Plugin is the signer.PluginHandler of idledger-signer-gpse.
type Plugin struct {
	Backend Backend
	Reader  string    // the reader to use; empty: the first holding a JPKI applet
	Debug   io.Writer // if set, the APDU exchange (PIN data never) is logged there

	sess *session
	// pinFresh: the PIN was verified in this session for a certificate read
	// (a phone's applet) and no signature has used it yet. A signature
	// otherwise always asks for the PIN: the PIN is the user's consent.
	pinFresh bool
}

var _ signer.PluginHandler = (*Plugin)(nil)

type session struct {
	reader string
	conn   Conn
	applet *Applet
}

func (p *Plugin) debugf(format string, args ...any) {
	if p.Debug != nil {
		fmt.Fprintf(p.Debug, "gpse: "+format+"\n", args...)
	}
}

// Close ends the card session, resetting the card so that no verified PIN
// state outlives the plugin.
func (p *Plugin) Close() error {
	p.drop(true)
	if p.Backend != nil {
		return p.Backend.Close()
	}
	return nil
}

func (p *Plugin) drop(reset bool) {
	if p.sess != nil {
		p.sess.conn.Close(reset)
		p.sess = nil
	}
	p.pinFresh = false
}

// open finds the reader and selects the applet, once per session.
func (p *Plugin) open() (*session, error) {
	if p.sess != nil {
		return p.sess, nil
	}
	readers, err := p.Backend.ListReaders()
	if err != nil {
		return nil, err
	}
	if len(readers) == 0 {
		return nil, &signer.PluginError{Code: signer.CodeNoReader, Message: "no smart card reader found: plug in a USB or NFC reader (and check that pcscd is running)", TriesLeft: -1}
	}
	candidates := readers
	if p.Reader != "" {
		candidates = nil
		for _, r := range readers {
			if r == p.Reader {
				candidates = []string{r}
			}
		}
		if candidates == nil {
			return nil, &signer.PluginError{Code: signer.CodeNoReader, Message: fmt.Sprintf("reader %q not found; readers: %s", p.Reader, strings.Join(readers, ", ")), TriesLeft: -1}
		}
	}
	var empty, other []string
	for _, r := range candidates {
		conn, err := p.Backend.Connect(r)
		if errors.Is(err, ErrNoCardInReader) {
			empty = append(empty, r)
			continue
		}
		if err != nil {
			p.debugf("reader %q: %v", r, err)
			other = append(other, r)
			continue
		}
		a, err := Select(&tracingTransport{t: conn, p: p})
		if err != nil {
			p.debugf("reader %q: %v", r, err)
			conn.Close(false)
			if errors.Is(err, signer.ErrCardRemoved) {
				empty = append(empty, r)
			} else {
				other = append(other, r)
			}
			continue
		}
		p.debugf("using reader %q: %s", r, a.Token())
		p.sess = &session{reader: r, conn: conn, applet: a}
		p.pinFresh = false
		return p.sess, nil
	}
	msg := "no card or phone in the reader"
	if len(candidates) > 1 {
		msg = "no card or phone in any reader"
	}
	if len(other) > 0 {
		msg = "no JPKI card or phone found"
	}
	return nil, &signer.PluginError{Code: signer.CodeNoCard, Message: fmt.Sprintf("%s (readers: %s)", msg, strings.Join(candidates, ", ")), TriesLeft: -1}
}

// retry runs op on the session, once more on a fresh session if the card
// was reset under it.
func (p *Plugin) retry(op func(*session) ([]byte, error)) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		s, err := p.open()
		if err != nil {
			return nil, err
		}
		out, err := op(s)
		if err != nil && (errors.Is(err, errCardReset) || errors.Is(err, signer.ErrCardRemoved)) {
			p.drop(false)
			if errors.Is(err, errCardReset) && attempt == 0 {
				continue
			}
		}
		return out, err
	}
}

// Certificate reads the user-authentication certificate, verifying the
// PIN first on a phone.
func (p *Plugin) Certificate(ctx context.Context, ui signer.PluginUI) ([]byte, error) {
	cert, err := p.retry(func(s *session) ([]byte, error) {
		if s.applet.Token().IsPhone() && !p.pinFresh {
			if err := p.verify(s, ui, "to read the certificate", true); err != nil {
				return nil, err
			}
		}
		cert, err := s.applet.ReadCertificate()
		if errors.Is(err, ErrPINRequired) && !p.pinFresh {
			if err := p.verify(s, ui, "to read the certificate", true); err != nil {
				return nil, err
			}
			cert, err = s.applet.ReadCertificate()
		}
		return cert, err
	})
	return cert, pluginError(err)
}

// SignDigestInfo verifies the PIN (unless a certificate read just did) and
// signs.
func (p *Plugin) SignDigestInfo(ctx context.Context, ui signer.PluginUI, digestInfo []byte) ([]byte, error) {
	if !IsSHA256DigestInfo(digestInfo) {
		return nil, pluginError(ErrNotDigestInfo)
	}
	sig, err := p.retry(func(s *session) ([]byte, error) {
		if !p.pinFresh {
			if err := p.verify(s, ui, "to sign", false); err != nil {
				return nil, err
			}
		}
		p.pinFresh = false
		if s.applet.Token().IsPhone() {
			ui.Message("Keep the phone on the reader until signing is done.")
		}
		sig, err := s.applet.Sign(digestInfo)
		if errors.Is(err, ErrPINRequired) {
			// The security state was lost (the card was reset by
			// another program): ask again, once.
			if err := p.verify(s, ui, "to sign", false); err != nil {
				return nil, err
			}
			p.pinFresh = false
			sig, err = s.applet.Sign(digestInfo)
		}
		return sig, err
	})
	return sig, pluginError(err)
}

// verify asks for the PIN and verifies it, never more than once: a blocked
// PIN is reported without asking, a wrong PIN is reported and not retried.
// reuse accepts a PIN already verified in the session instead of asking.
func (p *Plugin) verify(s *session, ui signer.PluginUI, why string, reuse bool) error {
	tries, verified, err := s.applet.TriesLeft()
	if err != nil {
		return err
	}
	if verified && reuse {
		p.pinFresh = true
		return nil
	}
	prompt := fmt.Sprintf("JPKI user-authentication PIN (4 digits) %s with the %s in %q", why, s.applet.Token(), s.reader)
	if tries > 0 && tries < 3 {
		prompt += fmt.Sprintf(" — %d %s left", tries, plural(tries, "try", "tries"))
	}
	pin, err := ui.AskPIN(prompt)
	if err != nil {
		return err
	}
	defer clear(pin)
	if err := s.applet.VerifyPIN(pin); err != nil {
		return err
	}
	p.pinFresh = true
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pluginError maps the flow's errors to the protocol's codes.
func pluginError(err error) error {
	if err == nil {
		return nil
	}
	var pe *signer.PluginError
	if errors.As(err, &pe) {
		return err
	}
	switch {
	case errors.Is(err, signer.ErrPINBlocked):
		return &signer.PluginError{Code: signer.CodePINBlocked, TriesLeft: -1,
			Message: "the user-authentication PIN is blocked; it can only be reset at your municipality's office (no PIN was sent)"}
	case errors.Is(err, ErrPINFormat):
		return &signer.PluginError{Code: signer.CodeBadRequest, TriesLeft: -1, Message: "the user-authentication PIN is 4 digits; nothing was sent to the card"}
	case errors.Is(err, ErrNotDigestInfo):
		return &signer.PluginError{Code: signer.CodeBadRequest, TriesLeft: -1, Message: "refusing to sign: not a SHA-256 DigestInfo"}
	case errors.Is(err, signer.ErrCardRemoved):
		return &signer.PluginError{Code: signer.CodeCardRemoved, TriesLeft: -1, Message: "the card or phone was removed from the reader: " + err.Error()}
	case errors.Is(err, ErrNoService):
		return &signer.PluginError{Code: signer.CodeNoReader, TriesLeft: -1, Message: err.Error()}
	}
	return &signer.PluginError{Code: signer.CodeInternal, TriesLeft: -1, Message: err.Error()}
}

// tracingTransport logs APDUs to the plugin's debug writer: headers and
// lengths only, so neither a PIN nor a certificate is copied.
type tracingTransport struct {
	t Transport
	p *Plugin
}

func (tt *tracingTransport) Transmit(apdu []byte) ([]byte, error) {
	if tt.p.Debug != nil && len(apdu) >= 4 {
		tt.p.debugf("> %X (%d bytes)", apdu[:4], len(apdu))
	}
	resp, err := tt.t.Transmit(apdu)
	if tt.p.Debug != nil {
		if err != nil {
			tt.p.debugf("< %v", err)
		} else if len(resp) >= 2 {
			tt.p.debugf("< SW %X (%d bytes)", resp[len(resp)-2:], len(resp)-2)
		}
	}
	return resp, err
}

// PCSC is the Backend on pcscd, through libpcsclite.
type PCSC struct {
	ctx *pcsc.Context
}

// OpenPCSC connects to pcscd.
func OpenPCSC() (*PCSC, error) {
	ctx, err := pcsc.EstablishContext()
	if err != nil {
		if errors.Is(err, pcsc.ErrNoService) {
			return nil, fmt.Errorf("%w (start it: systemctl start pcscd.socket, or pcscd): %v", ErrNoService, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrNoService, err)
	}
	return &PCSC{ctx: ctx}, nil
}

// ListReaders lists the readers pcscd knows.
func (b *PCSC) ListReaders() ([]string, error) {
	r, err := b.ctx.ListReaders()
	if err != nil {
		return nil, fmt.Errorf("%w: listing readers: %v", ErrNoService, err)
	}
	return r, nil
}

// Connect connects to the card in reader, exclusively if it can (so no
// other program uses a PIN verified here), shared otherwise.
func (b *PCSC) Connect(reader string) (Conn, error) {
	share := uintptr(pcsc.ShareExclusive)
	card, err := b.ctx.Connect(reader, share)
	if errors.Is(err, pcsc.ErrSharingViolation) {
		share = pcsc.ShareShared
		card, err = b.ctx.Connect(reader, share)
	}
	if err != nil {
		return nil, mapPCSC(err)
	}
	return &pcscConn{card: card}, nil
}

// Close releases the PC/SC context.
func (b *PCSC) Close() error { return b.ctx.Release() }

type pcscConn struct{ card *pcsc.Card }

func (c *pcscConn) Transmit(apdu []byte) ([]byte, error) {
	r, err := c.card.Transmit(apdu)
	if err != nil {
		return nil, mapPCSC(err)
	}
	if len(r) < 2 {
		// vpcd, and some readers, report a card that vanished
		// mid-command as an empty response.
		return nil, fmt.Errorf("%w: the card gave no status word", signer.ErrCardRemoved)
	}
	return r, nil
}

func (c *pcscConn) Close(reset bool) error {
	d := uintptr(pcsc.LeaveCard)
	if reset {
		d = pcsc.ResetCard
	}
	return c.card.Disconnect(d)
}

func mapPCSC(err error) error {
	var e pcsc.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e {
	case pcsc.ErrNoSmartcard:
		return fmt.Errorf("%w: %v", ErrNoCardInReader, err)
	case pcsc.ErrRemovedCard, pcsc.ErrReaderUnavailable, pcsc.ErrUnpoweredCard, pcsc.ErrUnresponsiveCard,
		pcsc.ErrCommError, pcsc.ErrNotTransacted, pcsc.ErrCommDataLost, pcsc.ErrInvalidHandle:
		return fmt.Errorf("%w: %v", signer.ErrCardRemoved, err)
	case pcsc.ErrResetCard:
		return fmt.Errorf("%w: %v", errCardReset, err)
	case pcsc.ErrNoService, pcsc.ErrServiceStopped:
		return fmt.Errorf("%w: %v", ErrNoService, err)
	}
	return err
}

// Version is the plugin's version, sent in the handshake.
const Version = "0.1.0"

// Main is idledger-signer-gpse's main: it serves the signer plugin protocol
// on stdin and stdout, or with --list-readers lists the readers. The reader
// may also be named by IDLEDGER_GPSE_READER (the client passes no flags).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("idledger-signer-gpse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reader := fs.String("reader", os.Getenv("IDLEDGER_GPSE_READER"), "use this PC/SC reader (default: the first holding a JPKI applet; env IDLEDGER_GPSE_READER)")
	list := fs.Bool("list-readers", false, "list the readers and what they hold, then exit")
	debug := fs.Bool("debug", os.Getenv("IDLEDGER_SIGNER_DEBUG") == "1", "log the protocol and APDU headers to stderr (PINs never; env IDLEDGER_SIGNER_DEBUG=1)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: idledger-signer-gpse [--reader NAME] [--debug] [--list-readers]\n\n"+
			"A signer plugin for idledger: run by `idledger ... --signer plugin:gpse`, it speaks\n"+
			"the signer plugin protocol on stdin/stdout and signs with the JPKI\n"+
			"user-authentication key of a My Number Card or a phone's GP-SE over PC/SC.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	var dbg io.Writer
	if *debug {
		dbg = stderr
	}
	backend, err := OpenPCSC()
	if err != nil {
		if *list {
			fmt.Fprintln(stderr, "idledger-signer-gpse:", err)
			return 1
		}
		// Serve anyway so the client gets a coded error per request.
		backend = nil
	}
	if *list {
		defer backend.Close()
		return listReaders(backend, stdout, stderr)
	}
	var h signer.PluginHandler
	if backend == nil {
		h = failing{err: &signer.PluginError{Code: signer.CodeNoReader, TriesLeft: -1, Message: err.Error()}}
	} else {
		p := &Plugin{Backend: backend, Reader: *reader, Debug: dbg}
		defer p.Close()
		h = p
	}
	if err := signer.ServePlugin(context.Background(), h, stdin, stdout, signer.ServeOptions{Name: "gpse", Version: Version, Debug: dbg}); err != nil {
		fmt.Fprintln(stderr, "idledger-signer-gpse:", err)
		return 1
	}
	return 0
}

type failing struct{ err error }

func (f failing) Certificate(context.Context, signer.PluginUI) ([]byte, error) { return nil, f.err }
func (f failing) SignDigestInfo(context.Context, signer.PluginUI, []byte) ([]byte, error) {
	return nil, f.err
}

func listReaders(b Backend, stdout, stderr io.Writer) int {
	readers, err := b.ListReaders()
	if err != nil {
		fmt.Fprintln(stderr, "idledger-signer-gpse:", err)
		return 1
	}
	if len(readers) == 0 {
		fmt.Fprintln(stderr, "idledger-signer-gpse: no readers")
		return 1
	}
	for _, r := range readers {
		what := ""
		conn, err := b.Connect(r)
		switch {
		case errors.Is(err, ErrNoCardInReader):
			what = "empty"
		case err != nil:
			what = err.Error()
		default:
			a, err := Select(conn)
			switch {
			case errors.Is(err, ErrNoApplet):
				what = "a card without the JPKI applet"
			case err != nil:
				what = err.Error()
			default:
				what = "JPKI applet: " + a.Token().String()
			}
			conn.Close(false)
		}
		fmt.Fprintf(stdout, "%s\t%s\n", r, what)
	}
	return 0
}
