package signer

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// This file holds what both ends of the signer plugin protocol
// (docs/signer-plugin-protocol.md) share: the error codes and errors, and
// the PluginUI through which a plugin reaches the user. The client is in
// client.go, the plugin side in serve.go, the terminal UI in terminal.go.

// ErrorCode is the code of an error message of the protocol. A plugin
// returns a *PluginError with one of these (or one of the Err… sentinels
// below, wrapped) to choose the code the client sees.
type ErrorCode string

// The protocol's error codes.
const (
	CodeWrongPIN    ErrorCode = "wrong_pin"    // ErrWrongPIN; PluginError.TriesLeft says how many tries remain
	CodePINBlocked  ErrorCode = "pin_blocked"  // ErrPINBlocked
	CodeNoCard      ErrorCode = "no_card"      // ErrNoCard
	CodeNoReader    ErrorCode = "no_reader"    // ErrNoReader
	CodeCardRemoved ErrorCode = "card_removed" // ErrCardRemoved
	CodeUnsupported ErrorCode = "unsupported"  // ErrUnsupported
	CodeCancelled   ErrorCode = "cancelled"    // ErrCancelled
	CodeBadRequest  ErrorCode = "bad_request"  // ErrBadRequest
	CodeInternal    ErrorCode = "internal"     // anything else; an unknown code reads as this
)

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

// codeErrors ties each code but internal to its sentinel.
var codeErrors = map[ErrorCode]error{
	CodeWrongPIN:    ErrWrongPIN,
	CodePINBlocked:  ErrPINBlocked,
	CodeNoCard:      ErrNoCard,
	CodeNoReader:    ErrNoReader,
	CodeCardRemoved: ErrCardRemoved,
	CodeUnsupported: ErrUnsupported,
	CodeCancelled:   ErrCancelled,
	CodeBadRequest:  ErrBadRequest,
}

// codeOrder is codeErrors' keys in a fixed order, for the plugin side's
// errors.Is search (a map's order would make an error matching two
// sentinels get either code).
var codeOrder = []ErrorCode{CodeWrongPIN, CodePINBlocked, CodeNoCard, CodeNoReader, CodeCardRemoved, CodeUnsupported, CodeCancelled, CodeBadRequest}

// PluginError is an error reported by a plugin (or, on the plugin side, to
// be reported to the client).
type PluginError struct {
	Plugin    string    // plugin name, "gpse"; empty on the plugin side
	Code      ErrorCode // one of the Code… constants; unknown codes act as CodeInternal
	Message   string    // human-readable, from the plugin
	TriesLeft int       // for CodeWrongPIN: tries remaining; -1 when unknown
}

func (e *PluginError) Error() string {
	var b strings.Builder
	b.WriteString("signer: ")
	if e.Plugin != "" {
		b.WriteString("plugin " + e.Plugin + ": ")
	}
	switch {
	case e.Code == CodeWrongPIN && e.TriesLeft >= 0:
		fmt.Fprintf(&b, "wrong PIN, %d %s left", e.TriesLeft, plural(e.TriesLeft, "try", "tries"))
		if e.TriesLeft == 1 {
			b.WriteString(" (one more wrong PIN blocks it)")
		}
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Code == CodePINBlocked:
		b.WriteString("PIN blocked; it can only be reset at the issuing municipality")
	default:
		b.WriteString(strings.ReplaceAll(string(e.Code), "_", " "))
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
