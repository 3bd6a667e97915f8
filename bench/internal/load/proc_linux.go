package load

import "syscall"

// childAttr makes the kernel kill an app process if the runner dies
// without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
