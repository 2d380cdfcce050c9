package signer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/idledger/idledger/signer/internal/pluginwire"
)

// This file is the plugin side of the signer plugin protocol
// (docs/signer-plugin-protocol.md): a plugin's main calls ServePlugin with
// its PluginHandler.

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
		s.write(&pluginwire.Msg{Type: pluginwire.TypeError, Code: string(CodeUnsupported), Message: "expected hello"})
		return fmt.Errorf("%w: first message %q, want hello", ErrPluginProtocol, m.Type)
	}
	if !containsInt(m.Versions, pluginwire.Version) {
		s.write(&pluginwire.Msg{Type: pluginwire.TypeError, Code: string(CodeUnsupported),
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
			err = &PluginError{Code: CodeUnsupported, Message: fmt.Sprintf("unsupported request %q", sanitize(m.Type))}
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
	m := &pluginwire.Msg{Type: pluginwire.TypeError, Code: string(CodeInternal), Message: err.Error()}
	var pe *PluginError
	if errors.As(err, &pe) {
		m.Code = string(pe.Code)
		if pe.Message != "" {
			m.Message = pe.Message
		}
		if pe.Code == CodeWrongPIN && pe.TriesLeft >= 0 {
			t := pe.TriesLeft
			m.TriesLeft = &t
		}
		return m
	}
	for _, code := range codeOrder {
		if errors.Is(err, codeErrors[code]) {
			m.Code = string(code)
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
		return nil, &PluginError{Code: CodeUnsupported, Message: "the client cannot answer " + m.Type}
	case pluginwire.TypeError:
		pluginwire.Wipe(r.PIN)
		return nil, &PluginError{Code: CodeCancelled, Message: "cancelled: " + sanitize(r.Message)}
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
