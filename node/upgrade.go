package node

import (
	"context"
	"errors"
	"time"

	"github.com/idledger/idledger/app"
)

// UpgradeHaltGrace is how long a node that halted for an upgrade keeps its
// p2p connections before it stops, so that peers still receive its last
// precommit and decide the upgrade height too.
var UpgradeHaltGrace = 3 * time.Second

// UpgradeHalt is closed when the node's app halted at a scheduled upgrade
// this binary does not know. Never closed for a non-idledger app.
func (n *Node) UpgradeHalt() <-chan struct{} {
	if n.upgrade == nil {
		return nil
	}
	return n.upgrade.UpgradeHalt()
}

// UpgradeNeeded returns the upgrade the node halted for, or nil.
func (n *Node) UpgradeNeeded() *app.UpgradeNeededError {
	if n.upgrade == nil {
		return nil
	}
	return n.upgrade.UpgradeNeeded()
}

// stopForUpgrade waits UpgradeHaltGrace (or ctx), stops the node, and
// returns the *app.UpgradeNeededError (exit status
// app.ExitCodeUpgradeNeeded from the CLI).
func (n *Node) stopForUpgrade(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-time.After(UpgradeHaltGrace):
	}
	err := n.Stop()
	var e error = n.UpgradeNeeded()
	n.logger.Error("stopped for an upgrade: " + e.Error())
	return errors.Join(e, err)
}

// upgradeHaltOr returns the app's upgrade halt if it halted (CometBFT's
// handshake, replaying stored blocks, reached an unknown upgrade; it
// reports that as a plain error), else err.
func upgradeHaltOr(a *app.App, err error) error {
	if a == nil {
		return err
	}
	if e := a.Halted(); e != nil {
		return e
	}
	return err
}
