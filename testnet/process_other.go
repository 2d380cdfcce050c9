//go:build !linux

package testnet

import "syscall"

// setParentDeathSignal is Linux-only; elsewhere the supervisor's own
// signal handling stops the nodes.
func setParentDeathSignal(*syscall.SysProcAttr) {}
