//go:build linux

package greeterdrive

import "syscall"

// childAttr makes the kernel kill a child process if this process dies
// without stopping it (panic, test timeout, SIGKILL).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
