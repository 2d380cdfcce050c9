package testnet

import "syscall"

// setParentDeathSignal has the kernel send SIGTERM to the child when the
// process that started it exits.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGTERM }
