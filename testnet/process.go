package testnet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/idledger/idledger/internal/atomicfile"
)

// Files of a node in its home.
const (
	LogFile = "node.log"
	PIDFile = "node.pid"
)

// DefaultStopGrace is how long Stop waits for a node to exit after SIGTERM
// before it sends SIGKILL.
const DefaultStopGrace = 15 * time.Second

// ErrRunning is returned by Network.Start when a node of the testnet is
// already running (its pid file names a live process).
var ErrRunning = errors.New("testnet: already running")

// Network runs the node processes of a testnet directory. Each node is its
// own OS process, "BINARY start --home DIR/nodeI" (plus "--app kvstore" for
// a kvstore testnet), with stdout and stderr appended to DIR/nodeI/node.log
// and its process ID in DIR/nodeI/node.pid. Nodes run in their own process
// group, so that a terminal's Ctrl-C reaches the supervisor, which stops
// them in order; and on Linux a node gets SIGTERM when its supervisor
// dies, so that none outlives a killed "testnet up".
type Network struct {
	Dir      string
	Manifest *Manifest
	binary   string
	detach   bool

	mu    sync.Mutex
	procs []*proc
	exits chan Exit
}

// Exit reports a node process that ended.
type Exit struct {
	Node int
	Err  error // from the process's Wait: nil for a clean exit
	// Expected is set when Stop or Kill ended it.
	Expected bool
}

type proc struct {
	cmd      *exec.Cmd
	done     chan struct{}
	err      error
	expected bool
}

// OpenOptions configure Open.
type OpenOptions struct {
	// Binary is the idledger executable to run nodes with; default the
	// running executable (os.Executable).
	Binary string
	// Detach starts nodes in their own session, to outlive the caller
	// (idledger testnet start --detach). A detached network's Exits are not
	// reported; stop it with StopPIDs.
	Detach bool
}

// Open reads dir's manifest. It starts nothing.
func Open(dir string, opts OpenOptions) (*Network, error) {
	dir, m, err := readManifestAbs(dir)
	if err != nil {
		return nil, err
	}
	bin := opts.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("testnet: finding the idledger executable: %w", err)
		}
	}
	return &Network{
		Dir: dir, Manifest: m, binary: bin, detach: opts.Detach,
		procs: make([]*proc, len(m.Nodes)),
		exits: make(chan Exit, 4*len(m.Nodes)+16),
	}, nil
}

// Home is node i's home directory.
func (n *Network) Home(i int) string { return filepath.Join(n.Dir, n.Manifest.Nodes[i].Home) }

// RPCURL is node i's RPC URL.
func (n *Network) RPCURL(i int) string { return n.Manifest.Nodes[i].RPCURL() }

// LogPath is node i's log file.
func (n *Network) LogPath(i int) string { return filepath.Join(n.Home(i), LogFile) }

// Exits reports node processes that ended, expectedly or not.
func (n *Network) Exits() <-chan Exit { return n.exits }

// Start starts every node that is not running and waits until each has
// committed a block (or ctx ends, or timeout passes, or a node exits),
// writing progress to w (nil: none). It refuses with ErrRunning if the pid
// file of any node names a live process.
func (n *Network) Start(ctx context.Context, w io.Writer, timeout time.Duration) error {
	if w == nil {
		w = io.Discard
	}
	if running := n.RunningPIDs(); len(running) > 0 {
		var names []string
		for i, pid := range running {
			names = append(names, fmt.Sprintf("%s (pid %d)", n.Manifest.Nodes[i].Name, pid))
		}
		return fmt.Errorf("%w: %s; stop it with idledger testnet stop --dir %s", ErrRunning, strings.Join(names, ", "), n.Dir)
	}
	for i := range n.Manifest.Nodes {
		if err := n.StartNode(i); err != nil {
			n.Stop(DefaultStopGrace)
			return err
		}
		fmt.Fprintf(w, "started %s (pid %d), log %s\n", n.Manifest.Nodes[i].Name, n.PID(i), n.LogPath(i))
	}
	all := make([]int, len(n.Manifest.Nodes))
	for i := range all {
		all[i] = i
	}
	if err := n.WaitHeight(ctx, all, 1, timeout, w); err != nil {
		n.Stop(DefaultStopGrace)
		return err
	}
	return nil
}

// StartNode starts node i's process (if this Network has not already).
func (n *Network) StartNode(i int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p := n.procs[i]; p != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("testnet: %s is already running", n.Manifest.Nodes[i].Name)
		}
	}
	home := n.Home(i)
	logf, err := os.OpenFile(n.LogPath(i), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	args := []string{"start", "--home", home}
	if n.Manifest.App != AppIdledger {
		args = append(args, "--app", n.Manifest.App)
	}
	cmd := exec.Command(n.binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "IDLEDGER_HOME="+home)
	if n.detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		// If the supervisor dies without stopping the nodes (SIGKILL, or
		// an unhandled SIGPIPE), they stop too rather than run orphaned.
		setParentDeathSignal(cmd.SysProcAttr)
	}
	fmt.Fprintf(logf, "--- testnet: starting %s at %s\n", strings.Join(cmd.Args, " "), time.Now().Format(time.RFC3339))
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("testnet: starting %s: %w", n.Manifest.Nodes[i].Name, err)
	}
	logf.Close() // the child has its own copy
	pidPath := filepath.Join(home, PIDFile)
	if err := atomicfile.WriteFile(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("testnet: %w", err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	n.procs[i] = p
	if n.detach {
		// Not waited for: the node outlives us. Exits are not reported.
		return nil
	}
	go func() {
		err := cmd.Wait()
		// Only our own pid file: a later StartNode may have replaced it.
		if b, rerr := os.ReadFile(pidPath); rerr == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
			os.Remove(pidPath)
		}
		n.mu.Lock()
		p.err = err
		expected := p.expected
		n.mu.Unlock()
		close(p.done)
		select {
		case n.exits <- Exit{Node: i, Err: err, Expected: expected}:
		default:
		}
	}()
	return nil
}

// PID returns node i's process ID if this Network started it and it runs,
// else 0.
func (n *Network) PID(i int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.procs[i]
	if p == nil {
		return 0
	}
	select {
	case <-p.done:
		return 0
	default:
		return p.cmd.Process.Pid
	}
}

// Running reports whether this Network's process of node i runs.
func (n *Network) Running(i int) bool { return n.PID(i) != 0 }

// signal sends sig to node i's process and, when wait > 0, waits up to wait
// for it to exit. It reports whether the process has exited.
func (n *Network) signal(i int, sig syscall.Signal, wait time.Duration) bool {
	n.mu.Lock()
	p := n.procs[i]
	if p == nil {
		n.mu.Unlock()
		return true
	}
	p.expected = true
	n.mu.Unlock()
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	if wait <= 0 {
		return false
	}
	select {
	case <-p.done:
		return true
	case <-time.After(wait):
		return false
	}
}

// StopNode stops node i: SIGTERM, then SIGKILL if it has not exited within
// grace. It returns once the process has exited.
func (n *Network) StopNode(i int, grace time.Duration) error {
	if n.signal(i, syscall.SIGTERM, grace) {
		return nil
	}
	if n.signal(i, syscall.SIGKILL, 10*time.Second) {
		return fmt.Errorf("testnet: %s did not stop within %s of SIGTERM; killed it", n.Manifest.Nodes[i].Name, grace)
	}
	return fmt.Errorf("testnet: %s did not exit after SIGKILL", n.Manifest.Nodes[i].Name)
}

// KillNode kills node i with SIGKILL (a crash, for fault tests) and waits
// for it to exit.
func (n *Network) KillNode(i int) error {
	if n.signal(i, syscall.SIGKILL, 10*time.Second) {
		return nil
	}
	return fmt.Errorf("testnet: %s did not exit after SIGKILL", n.Manifest.Nodes[i].Name)
}

// Stop stops every node this Network started, all at once, each as
// StopNode does.
func (n *Network) Stop(grace time.Duration) error {
	errs := make([]error, len(n.procs))
	var wg sync.WaitGroup
	for i := range n.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.StopNode(i, grace)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// WaitHeight waits until each of the nodes has committed block h, writing a
// line to w whenever a node's height changes (w may be nil). It
// fails when ctx ends, timeout passes, or one of the nodes, started by this
// Network, exits; the error then quotes the end of that node's log.
func (n *Network) WaitHeight(ctx context.Context, nodes []int, h int64, timeout time.Duration, w io.Writer) error {
	if w == nil {
		w = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	clients := make(map[int]*rpchttp.HTTP)
	for _, i := range nodes {
		c, err := rpchttp.NewWithTimeout(n.RPCURL(i), "/websocket", 2)
		if err != nil {
			return fmt.Errorf("testnet: %w", err)
		}
		clients[i] = c
	}
	last := make(map[int]string)
	for {
		done := true
		for _, i := range nodes {
			if exited, err := n.exited(i); exited {
				return fmt.Errorf("testnet: %s exited (%v) before block %d; end of %s:\n%s", n.Manifest.Nodes[i].Name, err, h, n.LogPath(i), LogTail(n.LogPath(i), 15))
			}
			state := "starting"
			st, err := clients[i].Status(ctx)
			if err == nil {
				state = fmt.Sprintf("height %d", st.SyncInfo.LatestBlockHeight)
				if st.SyncInfo.CatchingUp {
					state += " (catching up)"
				}
			}
			if err != nil || st.SyncInfo.LatestBlockHeight < h {
				done = false
			}
			if last[i] != state {
				last[i] = state
				fmt.Fprintf(w, "  %s: %s\n", n.Manifest.Nodes[i].Name, state)
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			var lag []string
			for _, i := range nodes {
				lag = append(lag, n.Manifest.Nodes[i].Name+" "+last[i])
			}
			return fmt.Errorf("testnet: waiting for block %d: %w (%s); see the logs in %s", h, ctx.Err(), strings.Join(lag, ", "), n.Dir)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exited reports whether node i's process, started by this Network, has
// ended, and how.
func (n *Network) exited(i int) (bool, error) {
	n.mu.Lock()
	p := n.procs[i]
	n.mu.Unlock()
	if p == nil {
		return false, nil
	}
	if n.detach {
		if alive(p.cmd.Process.Pid) {
			return false, nil
		}
		return true, errors.New("exited")
	}
	select {
	case <-p.done:
		n.mu.Lock()
		defer n.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// RunningPIDs reads the nodes' pid files and returns, by node index, those
// that name a live process running that node's home.
func (n *Network) RunningPIDs() map[int]int {
	out := make(map[int]int)
	for i := range n.Manifest.Nodes {
		if pid := livePID(n.Home(i)); pid > 0 {
			out[i] = pid
		}
	}
	return out
}

// ReadPIDs is Network.RunningPIDs for the testnet in dir, with its number
// of nodes: what a process that did not start the nodes (the load
// generator, measuring their CPU) reads of them.
func ReadPIDs(dir string) (pids map[int]int, nodes int, err error) {
	dir, m, err := readManifestAbs(dir)
	if err != nil {
		return nil, 0, err
	}
	pids = make(map[int]int)
	for i, nd := range m.Nodes {
		if pid := livePID(filepath.Join(dir, nd.Home)); pid > 0 {
			pids[i] = pid
		}
	}
	return pids, len(m.Nodes), nil
}

// livePID returns the process ID in home's pid file if that process is
// alive and, where /proc tells, runs with that home; else 0.
func livePID(home string) int {
	b, err := os.ReadFile(filepath.Join(home, PIDFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if !alive(pid) {
		return 0
	}
	if cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil {
		// Guard against a recycled pid: the process must be a node of home.
		if !bytes.Contains(cmdline, []byte(home)) {
			return 0
		}
	}
	return pid
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		// "pid (comm) S ...": the state follows the last ')'.
		if j := bytes.LastIndexByte(stat, ')'); j >= 0 && j+2 < len(stat) {
			return stat[j+2] != 'Z' && stat[j+2] != 'X'
		}
	} else if _, serr := os.Stat("/proc/self/stat"); serr == nil {
		return false // /proc works and has no such process
	}
	return syscall.Kill(pid, 0) == nil
}

// StopPIDs stops the nodes of the testnet in dir that run from any
// process, found by their pid files: SIGTERM to each, then SIGKILL to
// those still alive after grace. It returns the names of the nodes it
// stopped.
func StopPIDs(dir string, grace time.Duration) ([]string, error) {
	dir, m, err := readManifestAbs(dir)
	if err != nil {
		return nil, err
	}
	type target struct {
		name, home string
		pid        int
	}
	var ts []target
	for _, nd := range m.Nodes {
		home := filepath.Join(dir, nd.Home)
		if pid := livePID(home); pid > 0 {
			ts = append(ts, target{nd.Name, home, pid})
		}
	}
	for _, t := range ts {
		_ = syscall.Kill(t.pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	var errs []error
	var stopped []string
	for _, t := range ts {
		for alive(t.pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(t.pid) {
			_ = syscall.Kill(t.pid, syscall.SIGKILL)
			errs = append(errs, fmt.Errorf("testnet: %s (pid %d) did not stop within %s of SIGTERM; killed it", t.name, t.pid, grace))
			for k := 0; k < 100 && alive(t.pid); k++ {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if !alive(t.pid) {
			os.Remove(filepath.Join(t.home, PIDFile))
		}
		stopped = append(stopped, t.name)
	}
	return stopped, errors.Join(errs...)
}

// LogTail returns the last n lines of a log file, indented.
func LogTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > 4*n {
			lines = lines[len(lines)-n:]
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
