package signer

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTerminalUIPINFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(f, []byte("1234\r\n"), 0o600)
	ui := &TerminalUI{PINFile: f}
	pin, err := ui.AskPIN("PIN")
	if err != nil || string(pin) != "1234" {
		t.Fatalf("%q %v", pin, err)
	}
	t.Setenv(PINEnv, "5678")
	ui = &TerminalUI{}
	if pin, err := ui.AskPIN("PIN"); err != nil || string(pin) != "5678" {
		t.Fatalf("%q %v", pin, err)
	}
}
