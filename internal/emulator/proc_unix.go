//go:build unix

package emulator

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

const supported = true

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// newGroupAttr puts the child in a new process group whose id is its pid.
func newGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to every process of group pgid. A group that no
// longer exists is not an error.
func signalGroup(pgid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// groupAlive reports whether a process of group pgid is still running.
// Zombies do not count: the emulator's java and shell are reparented to
// init when gcloud dies, and init may reap them later, but a zombie holds no
// port and no memory.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // no /proc: kill(2) said the group exists
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		if f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}

// startWatchdog starts a small shell, in a process group of its own, that
// kills group pgid as soon as its standard input reaches end of file: when
// the returned closer is closed, or when this process dies in any way
// (panic, test timeout, SIGKILL), since the kernel then closes the pipe.
// This is what keeps a crashed test binary from leaking a java process that
// holds the port.
func startWatchdog(pgid int) (io.Closer, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", `read _; kill -KILL -"$1" 2>/dev/null; exit 0`, "emulator-watchdog", strconv.Itoa(pgid))
	cmd.Stdin = r
	cmd.SysProcAttr = newGroupAttr() // out of reach of a terminal's ^C to our group
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait() }() // reap it
	return w, nil
}
