package gpse_test

// End-to-end tests through the real PC/SC stack:
//
//	signer.PluginSigner → idledger-signer-gpse (this test binary, re-run)
//	  → libpcsclite → pcscd (started here, in a private mount namespace)
//	  → vsmartcard's vpcd driver → TCP 127.0.0.1 → jpkiemu (in this process)
//
// They need root, Debian's pcscd and vsmartcard-vpcd, and libpcsclite1.
// Without them the tests skip, or fail when IDLEDGER_REQUIRE_PCSC=1 (CI).

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idledger/idledger/gpse"
	"github.com/idledger/idledger/internal/testutil"
	"github.com/idledger/idledger/jpkiemu"
	"github.com/idledger/idledger/signer"
)

const (
	envHelperRun  = "IDLEDGER_TEST_PCSCD_RUN"
	envHelperConf = "IDLEDGER_TEST_PCSCD_CONF"
	envEnvDump    = "IDLEDGER_TEST_PLUGIN_ENV_DUMP"
	vpcdDriver    = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	reader0       = "Virtual PCD 00 00"
	reader1       = "Virtual PCD 00 01"
)

func TestMain(m *testing.M) {
	switch {
	case filepath.Base(os.Args[0]) == "idledger-signer-gpse":
		// The test binary as the plugin, run by signer.OpenPlugin. With
		// envEnvDump set it first saves its /proc/self/environ there.
		if dump := os.Getenv(envEnvDump); dump != "" {
			if b, err := os.ReadFile("/proc/self/environ"); err == nil {
				os.WriteFile(dump, b, 0o600)
			}
		}
		os.Exit(gpse.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	case os.Getenv(envHelperRun) != "":
		os.Exit(pcscdHelper())
	}
	code := m.Run()
	theStack.stop()
	os.Exit(code)
}

// pcscdHelper runs in a fresh mount namespace: it binds a private directory
// over /run/pcscd, pcscd's fixed home, and becomes pcscd. A system pcscd,
// if any, keeps its own /run/pcscd.
func pcscdHelper() int {
	run, conf := os.Getenv(envHelperRun), os.Getenv(envHelperConf)
	if err := os.MkdirAll("/run/pcscd", 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	if err := syscall.Mount(run, "/run/pcscd", "", syscall.MS_BIND, ""); err != nil {
		fmt.Fprintln(os.Stderr, "helper: bind mount:", err)
		return 1
	}
	pcscd, err := exec.LookPath("pcscd")
	if err != nil {
		pcscd = "/usr/sbin/pcscd"
	}
	err = syscall.Exec(pcscd, []string{"pcscd", "--foreground", "--config", conf}, os.Environ())
	fmt.Fprintln(os.Stderr, "helper: exec pcscd:", err)
	return 1
}

// stack is one pcscd with a two-slot vpcd reader, shared by the tests of
// this binary (libpcsclite reads PCSCLITE_CSOCK_NAME once per process).
type stack struct {
	once    sync.Once
	err     error
	cmd     *exec.Cmd
	log     *testutil.SyncBuffer
	port    int
	dir     string
	binDir  string
	waitErr chan error
}

var theStack stack

// missingPCSC says what is missing for the real stack, or "".
func missingPCSC() string {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (pcscd's socket directory /run/pcscd is fixed; the test binds a private one in a mount namespace)")
	}
	if _, err := exec.LookPath("pcscd"); err != nil {
		if _, err := os.Stat("/usr/sbin/pcscd"); err != nil {
			missing = append(missing, "pcscd (apt-get install pcscd)")
		}
	}
	if _, err := os.Stat(vpcdDriver); err != nil {
		missing = append(missing, "the vpcd driver "+vpcdDriver+" (apt-get install vsmartcard-vpcd)")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libpcsclite.so.1"); err != nil {
		if _, err := os.Stat("/usr/lib/aarch64-linux-gnu/libpcsclite.so.1"); err != nil {
			missing = append(missing, "libpcsclite.so.1 (apt-get install libpcsclite1)")
		}
	}
	return strings.Join(missing, "; ")
}

// requireStack starts the shared stack, or skips (fails under
// IDLEDGER_REQUIRE_PCSC=1) when the machine lacks it.
func requireStack(t *testing.T) *stack {
	t.Helper()
	if m := missingPCSC(); m != "" {
		if os.Getenv("IDLEDGER_REQUIRE_PCSC") == "1" {
			t.Fatalf("the PC/SC end-to-end test needs: %s", m)
		}
		t.Skipf("skipping the PC/SC end-to-end test (set IDLEDGER_REQUIRE_PCSC=1 to fail instead); missing: %s", m)
	}
	s := &theStack
	s.once.Do(func() { s.err = s.start() })
	if s.err != nil {
		t.Fatalf("starting pcscd with vpcd: %v\npcscd log:\n%s", s.err, s.log)
	}
	select {
	case err := <-s.waitErr:
		s.err = fmt.Errorf("pcscd exited: %v", err)
		t.Fatalf("%v\npcscd log:\n%s", s.err, s.log)
	default:
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pcscd log (tail):\n%s", s.log.TailBytes(3000))
		}
	})
	return s
}

// freePortPair finds p with p and p+1 free on 127.0.0.1 (vpcd's two slots).
func freePortPair() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p >= 65535 {
			continue
		}
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		l2.Close()
		return p, nil
	}
	return 0, errors.New("no free pair of ports")
}

func (s *stack) start() error {
	s.log = &testutil.SyncBuffer{}
	dir, err := os.MkdirTemp("", "idledger-pcsc-")
	if err != nil {
		return err
	}
	s.dir = dir
	run, conf, bin := filepath.Join(dir, "run"), filepath.Join(dir, "reader.conf.d"), filepath.Join(dir, "bin")
	for _, d := range []string{run, conf, bin} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if s.port, err = freePortPair(); err != nil {
		return err
	}
	// The same driver and syntax as Debian's /etc/reader.conf.d/vpcd, on a
	// free port: slot n listens on port+n.
	rc := fmt.Sprintf("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n", s.port, vpcdDriver, s.port)
	if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(rc), 0o644); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.Symlink(exe, filepath.Join(bin, "idledger-signer-gpse")); err != nil {
		return err
	}
	s.binDir = bin
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envHelperRun+"="+run, envHelperConf+"="+conf)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.waitErr = make(chan error, 1)
	go func() { s.waitErr <- cmd.Wait() }()
	sock := filepath.Join(run, "pcscd.comm")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case err := <-s.waitErr:
			return fmt.Errorf("pcscd exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("pcscd did not create its socket within 15s")
		}
	}
	// Both this process (for waiting on readers) and the plugin processes
	// reach the private pcscd through this variable.
	os.Setenv("PCSCLITE_CSOCK_NAME", sock)
	os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return nil
}

func (s *stack) stop() {
	if s.dir != "" {
		defer os.RemoveAll(s.dir)
	}
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.waitErr:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.waitErr
	}
	s.cmd = nil
}

// insert puts card into vpcd slot n and waits until pcscd reports it.
func (s *stack) insert(t *testing.T, slot int, card *jpkiemu.Card, removeOn func([]byte) bool) *jpkiemu.Inserted {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	in, err := jpkiemu.Insert(ctx, fmt.Sprintf("127.0.0.1:%d", s.port+slot), card, jpkiemu.InsertOptions{RemoveOn: removeOn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Remove()
		s.waitPresence(t, slot, false)
	})
	s.waitPresence(t, slot, true)
	return in
}

// waitPresence polls pcscd until the slot's reader holds a card answering
// the JPKI AID, or until pcscd reports it empty.
func (s *stack) waitPresence(t *testing.T, slot int, present bool) {
	t.Helper()
	name := []string{reader0, reader1}[slot]
	b, err := gpse.OpenPCSC()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := b.Connect(name)
		if err == nil {
			_, err = gpse.Select(conn)
			conn.Close(false)
		}
		if present && err == nil || !present && errors.Is(err, gpse.ErrNoCardInReader) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader %q: card present=%v not reached within 15s (last: %v)", name, present, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newHolder(t *testing.T, cn string) holder {
	t.Helper()
	k, cert := testutil.Holder(cn)
	return holder{key: k, cert: cert}
}

func emuCard(t *testing.T, h holder, phone bool) *jpkiemu.Card {
	t.Helper()
	c, err := jpkiemu.New(jpkiemu.Options{Key: h.key, CertDER: h.cert, PIN: []byte("1234"), GPSE: phone})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countingUI answers PIN prompts with pin and counts them.
type countingUI struct {
	mu      sync.Mutex
	pin     string
	prompts []string
	msgs    []string
}

func (u *countingUI) AskPIN(prompt string) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.prompts = append(u.prompts, prompt)
	return []byte(u.pin), nil
}
func (u *countingUI) Confirm(string, string, string) (bool, error) { return true, nil }
func (u *countingUI) Message(text string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.msgs = append(u.msgs, text)
	return nil
}

func openGPSE(t *testing.T, ui signer.PluginUI, stderr *testutil.SyncBuffer) *signer.PluginSigner {
	t.Helper()
	p, err := signer.OpenPlugin("gpse", signer.PluginOptions{UI: ui, Timeout: 30 * time.Second, Stderr: stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("plugin stderr:\n%s", stderr.TailBytes(4000))
		}
	})
	return p
}

func TestPCSCCardCertificateAndSign(t *testing.T) {
	s := requireStack(t)
	h := newHolder(t, "holder1")
	card := emuCard(t, h, false)
	s.insert(t, 0, card, nil)
	t.Setenv("IDLEDGER_SIGNER_DEBUG", "1") // and check no PIN leaks
	var stderr testutil.SyncBuffer
	ui := &countingUI{pin: "1234"}
	p := openGPSE(t, ui, &stderr)
	ctx := context.Background()
	cert, err := p.Certificate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert, h.cert) {
		t.Fatal("certificate differs")
	}
	di, d := digestInfo("idledger/attest/v1 …")
	sig, err := p.SignDigestInfo(ctx, di)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&h.key.PublicKey, crypto.SHA256, d, sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if len(ui.prompts) != 1 || card.Signatures() != 1 {
		t.Fatalf("%d prompts, %d signatures; want 1 and 1", len(ui.prompts), card.Signatures())
	}
	p.Close()
	log := stderr.String()
	if !strings.Contains(log, "802A0080") || !strings.Contains(log, "(pin redacted)") {
		t.Fatalf("debug log lacks the exchange:\n%s", log)
	}
	if strings.Contains(log, "MTIzNA") || strings.Contains(log, "31323334") || strings.Contains(log, "1234") {
		t.Fatalf("debug log leaks the PIN:\n%s", log)
	}
}

func TestPCSCPhoneNeedsPINForCertificate(t *testing.T) {
	s := requireStack(t)
	h := newHolder(t, "holder1")
	phone := emuCard(t, h, true)
	s.insert(t, 0, phone, nil)
	ui := &countingUI{pin: "1234"}
	p := openGPSE(t, ui, &testutil.SyncBuffer{})
	cert, err := p.Certificate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert, h.cert) || len(ui.prompts) != 1 || !strings.Contains(ui.prompts[0], "Android phone") {
		t.Fatalf("certificate ok=%v, prompts %q", bytes.Equal(cert, h.cert), ui.prompts)
	}
	di, d := digestInfo("x")
	sig, err := p.SignDigestInfo(context.Background(), di)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&h.key.PublicKey, crypto.SHA256, d, sig); err != nil {
		t.Fatal(err)
	}
	if len(ui.prompts) != 1 {
		t.Fatalf("the PIN verified for the certificate should cover the signature; prompts %q", ui.prompts)
	}
}

func TestPCSCWrongPIN(t *testing.T) {
	s := requireStack(t)
	card := emuCard(t, newHolder(t, "holder1"), false)
	s.insert(t, 0, card, nil)
	ui := &countingUI{pin: "9999"}
	p := openGPSE(t, ui, &testutil.SyncBuffer{})
	di, _ := digestInfo("x")
	_, err := p.SignDigestInfo(context.Background(), di)
	if !errors.Is(err, signer.ErrWrongPIN) || !strings.Contains(err.Error(), "wrong PIN, 2 tries left") {
		t.Fatalf("got %v", err)
	}
	var pe *signer.PluginError
	if !errors.As(err, &pe) || pe.TriesLeft != 2 {
		t.Fatalf("tries left not reported: %#v", err)
	}
	if len(ui.prompts) != 1 || card.TriesLeft() != 2 {
		t.Fatalf("%d prompts, card tries %d: the plugin must stop after one wrong PIN", len(ui.prompts), card.TriesLeft())
	}
}

func TestPCSCBlockedPIN(t *testing.T) {
	s := requireStack(t)
	card := emuCard(t, newHolder(t, "holder1"), false)
	a, err := gpse.Select(cardTransport{card})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a.VerifyPIN([]byte("0000"))
	}
	card.Reset()
	s.insert(t, 0, card, nil)
	ui := &countingUI{pin: "1234"}
	p := openGPSE(t, ui, &testutil.SyncBuffer{})
	di, _ := digestInfo("x")
	_, err = p.SignDigestInfo(context.Background(), di)
	if !errors.Is(err, signer.ErrPINBlocked) || !strings.Contains(err.Error(), "blocked") {
		t.Fatalf("got %v", err)
	}
	if len(ui.prompts) != 0 {
		t.Fatalf("asked for a PIN on a blocked card: %q", ui.prompts)
	}
}

func TestPCSCNoCard(t *testing.T) {
	requireStack(t)
	p := openGPSE(t, &countingUI{pin: "1234"}, &testutil.SyncBuffer{})
	_, err := p.Certificate(context.Background())
	if !errors.Is(err, signer.ErrNoCard) || !strings.Contains(err.Error(), reader0) {
		t.Fatalf("got %v", err)
	}
}

func TestPCSCNoPCSCD(t *testing.T) {
	requireStack(t)
	t.Setenv("PCSCLITE_CSOCK_NAME", filepath.Join(t.TempDir(), "nothing-here"))
	p := openGPSE(t, &countingUI{pin: "1234"}, &testutil.SyncBuffer{})
	_, err := p.Certificate(context.Background())
	if !errors.Is(err, signer.ErrNoReader) || !strings.Contains(err.Error(), "pcscd") {
		t.Fatalf("got %v", err)
	}
}

func TestPCSCCardRemovedMidSignature(t *testing.T) {
	s := requireStack(t)
	card := emuCard(t, newHolder(t, "holder1"), false)
	s.insert(t, 0, card, func(apdu []byte) bool { return len(apdu) > 1 && apdu[1] == 0x2A })
	ui := &countingUI{pin: "1234"}
	p := openGPSE(t, ui, &testutil.SyncBuffer{})
	di, _ := digestInfo("x")
	_, err := p.SignDigestInfo(context.Background(), di)
	if !errors.Is(err, signer.ErrCardRemoved) {
		t.Fatalf("got %v", err)
	}
	if card.Signatures() != 0 {
		t.Fatal("the card signed")
	}
}

func TestPCSCTwoReaders(t *testing.T) {
	s := requireStack(t)
	h1, h2 := newHolder(t, "holder1"), newHolder(t, "holder2")
	card, phone := emuCard(t, h1, false), emuCard(t, h2, true)
	s.insert(t, 0, card, nil)
	s.insert(t, 1, phone, nil)

	// Default: the first reader holding a JPKI applet.
	p := openGPSE(t, &countingUI{pin: "1234"}, &testutil.SyncBuffer{})
	cert, err := p.Certificate(context.Background())
	if err != nil || !bytes.Equal(cert, h1.cert) {
		t.Fatalf("default reader: %v, holder1's certificate=%v", err, bytes.Equal(cert, h1.cert))
	}
	p.Close()

	// The reader named by IDLEDGER_GPSE_READER (the plugin's --reader).
	t.Setenv("IDLEDGER_GPSE_READER", reader1)
	ui := &countingUI{pin: "1234"}
	p = openGPSE(t, ui, &testutil.SyncBuffer{})
	cert, err = p.Certificate(context.Background())
	if err != nil || !bytes.Equal(cert, h2.cert) {
		t.Fatalf("reader 1: %v, holder2's certificate=%v", err, bytes.Equal(cert, h2.cert))
	}
	di, d := digestInfo("two readers")
	sig, err := p.SignDigestInfo(context.Background(), di)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&h2.key.PublicKey, crypto.SHA256, d, sig); err != nil {
		t.Fatal(err)
	}
	if card.Signatures() != 0 || phone.Signatures() != 1 {
		t.Fatalf("signatures: card %d, phone %d", card.Signatures(), phone.Signatures())
	}
}

func TestPCSCListReaders(t *testing.T) {
	s := requireStack(t)
	s.insert(t, 1, emuCard(t, newHolder(t, "holder1"), true), nil)
	out, err := exec.Command(filepath.Join(s.binDir, "idledger-signer-gpse"), "--list-readers").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := reader0 + "\tempty\n" + reader1 + "\tJPKI applet: Android phone (GP-SE)\n"
	if string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}
