package signer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/idledger/idledger/signer/internal/pluginwire"
	"golang.org/x/term"
)

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
