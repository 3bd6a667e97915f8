//go:build linux

package reliability

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// freezer stops and continues the whole process group of an emulator that
// the test started (gcloud, its shell and java), as a hung store or a
// network partition would look to its clients: connections stay open, no
// answer comes.
type freezer struct{ pgid int }

// newFreezer finds the process group of p: that of the gcloud process
// started with --host-port=HOST. The emulator must have been started by the
// test (emulator.Start), which puts it in a group of its own.
func newFreezer(t testing.TB, p *emulator.Process) *freezer {
	t.Helper()
	want := "--host-port=" + p.Host()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), "gcloud") {
			continue
		}
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			if arg != want {
				continue
			}
			pgid, err := syscall.Getpgid(pid)
			if err != nil || pgid != pid {
				t.Fatalf("emulator gcloud process %d: process group %d (%v), want a group of its own", pid, pgid, err)
			}
			f := &freezer{pgid: pgid}
			t.Cleanup(func() { _ = f.thaw() }) // before the emulator's own cleanup stops it
			return f
		}
	}
	t.Fatalf("no gcloud process started with %s", want)
	return nil
}

func (f *freezer) freeze() error {
	if err := syscall.Kill(-f.pgid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP to process group %d: %w", f.pgid, err)
	}
	return nil
}

func (f *freezer) thaw() error {
	if err := syscall.Kill(-f.pgid, syscall.SIGCONT); err != nil {
		return fmt.Errorf("SIGCONT to process group %d: %w", f.pgid, err)
	}
	return nil
}
