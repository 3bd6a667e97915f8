// Package greetertest builds the greeter command and runs it as a process
// of its own, for the tests of the greeter and of its browser test module:
// testing.TB wrappers of internal/greeterdrive.
package greetertest

import (
	"context"
	"runtime/debug"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

const (
	readyTimeout = time.Minute // for the port to answer, Firestore's first read included
	stopTimeout  = 15 * time.Second
)

// Build compiles the greeter into a temporary directory of t and returns
// the binary's path. It builds with -race when the test binary has it, so
// that the greeter's own races fail the tests too.
func Build(t testing.TB) string {
	t.Helper()
	bin, err := greeterdrive.Build(context.Background(), t.TempDir(), raceEnabled())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// Process is one greeter process.
type Process struct{ *greeterdrive.Process }

// Start runs the greeter binary bin with an environment of only PATH, HOME,
// PORT (a free port) and env ("NAME=value" entries), waits until it accepts
// connections, and kills it when the test ends if it is still running.
func Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	p, err := greeterdrive.Start(greeterdrive.Config{Bin: bin, Dir: t.TempDir(), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("greeter on port %d said:\n%s", p.Port, p.Output())
		}
	})
	if err := p.WaitListening(readyTimeout); err != nil {
		t.Fatalf("greeter: %v\n%s", err, p.Output())
	}
	return &Process{p}
}

// Stop sends SIGTERM to the greeter and returns its exit code once it has
// exited; it fails the test if that takes longer than 15 seconds.
func (p *Process) Stop(t testing.TB) int {
	t.Helper()
	code, err := p.Process.Stop(stopTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
