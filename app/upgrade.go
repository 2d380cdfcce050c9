package app

import (
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/idledger/idledger/chain"
)

// UpgradeHandler runs a named upgrade's state migration at the start of the
// upgrade height's block, before its transactions, on every node alike. It
// must be deterministic (no clock, no I/O, no map order reaching state);
// an error stops the node.
type UpgradeHandler func(st chain.Store, env chain.Env) error

var (
	upgradeMu       sync.RWMutex
	upgradeHandlers = map[string]UpgradeHandler{}
)

// RegisterUpgrade makes this binary know the upgrade name, typically from
// an init function in the release that introduces it. It panics on a
// duplicate or an invalid name (a programming error).
func RegisterUpgrade(name string, h UpgradeHandler) {
	if !chain.ValidUpgradeName(name) {
		panic(fmt.Sprintf("app: upgrade name %q is not valid", name))
	}
	upgradeMu.Lock()
	defer upgradeMu.Unlock()
	if _, ok := upgradeHandlers[name]; ok {
		panic(fmt.Sprintf("app: upgrade %q registered twice", name))
	}
	upgradeHandlers[name] = h
}

// KnownUpgrades returns the names of the upgrades this binary knows, sorted.
func KnownUpgrades() []string {
	upgradeMu.RLock()
	defer upgradeMu.RUnlock()
	out := make([]string, 0, len(upgradeHandlers))
	for n := range upgradeHandlers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func upgradeHandler(name string) (UpgradeHandler, bool) {
	upgradeMu.RLock()
	defer upgradeMu.RUnlock()
	h, ok := upgradeHandlers[name]
	return h, ok
}

// TestUpgradeEnv names an environment variable for tests only: a binary
// started with IDLEDGER_TEST_UPGRADE_HANDLER=NAME knows upgrade NAME as a
// migration that changes nothing but the record of the upgrade. Never set
// it on a production node: a node that skips a real migration forks.
const TestUpgradeEnv = "IDLEDGER_TEST_UPGRADE_HANDLER"

func init() {
	if name := os.Getenv(TestUpgradeEnv); name != "" && chain.ValidUpgradeName(name) {
		RegisterUpgrade(name, func(chain.Store, chain.Env) error { return nil })
	}
}

// UpgradeNeededError is returned when the chain reached a scheduled upgrade
// that this binary does not know: the node halts (or refuses to start) so
// that it neither executes the upgrade height with the old rules nor forks.
type UpgradeNeededError struct {
	Name   string
	Height int64
}

func (e *UpgradeNeededError) Error() string {
	return fmt.Sprintf("app: upgrade %q needed at height %d: this binary does not know it; "+
		"install the release that does and restart", e.Name, e.Height)
}

// ExitCodeUpgradeNeeded is the exit status of "idledger start" when it stops
// (or refuses to start) for an upgrade it does not know.
const ExitCodeUpgradeNeeded = 3

// ExitCode makes the CLI exit with ExitCodeUpgradeNeeded.
func (e *UpgradeNeededError) ExitCode() int { return ExitCodeUpgradeNeeded }

// UpgradeHalt is closed when the app halted at an upgrade it does not
// know; UpgradeNeeded then says which.
func (a *App) UpgradeHalt() <-chan struct{} { return a.upgradeHalt }

// Halted returns the upgrade the app halted at while executing a block, or
// nil. Unlike UpgradeNeeded it reads no state (safe after Close).
func (a *App) Halted() *UpgradeNeededError {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.halted
}

// UpgradeNeeded returns the upgrade that stops this binary: the scheduled
// one, when the next block to execute is its height and no handler is
// registered for it. Nil otherwise. The node checks it before starting.
func (a *App) UpgradeNeeded() *UpgradeNeededError {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.halted != nil {
		return a.halted
	}
	if a.committed == nil {
		return nil
	}
	p := chain.GetUpgradePlan(readStore{a.committed})
	if p == nil || p.Height != a.committed.Version()+1 {
		return nil
	}
	if _, ok := upgradeHandler(p.Name); ok {
		return nil
	}
	return &UpgradeNeededError{Name: p.Name, Height: p.Height}
}

// beginUpgrade runs at the start of FinalizeBlock: at the scheduled
// upgrade's height it runs the upgrade's handler, or halts the app when the
// binary does not know it. Every node decided this block (its precommit is
// out) before FinalizeBlock, so halting here leaves no quorum stuck; the
// block stays in the block store, and the next binary executes it.
func (a *App) beginUpgrade(st chain.Store, env chain.Env) error {
	p := chain.GetUpgradePlan(st)
	if p == nil || p.Height != env.Height {
		return nil
	}
	h, ok := upgradeHandler(p.Name)
	if !ok {
		e := &UpgradeNeededError{Name: p.Name, Height: p.Height}
		if a.halted == nil {
			a.halted = e
			a.log.Error(fmt.Sprintf("UPGRADE %q NEEDED at height %d: halting before executing it; restart with a binary that knows it (exit status %d)",
				p.Name, p.Height, ExitCodeUpgradeNeeded), "upgrade", p.Name, "height", p.Height)
			close(a.upgradeHalt)
		}
		return e
	}
	if err := h(st, env); err != nil {
		return fmt.Errorf("app: upgrade %q at height %d: %w", p.Name, p.Height, err)
	}
	chain.ApplyUpgrade(st, env, p)
	a.log.Info(fmt.Sprintf("applied upgrade %q at height %d", p.Name, p.Height), "upgrade", p.Name, "height", p.Height)
	return nil
}
