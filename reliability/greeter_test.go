package reliability

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

// greeterShutdownTimeout is the greeter's own bound on its graceful
// shutdown (shutdownTimeout in cmd/greeter/server.go).
const greeterShutdownTimeout = 8 * time.Second

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// greeterBinary builds the greeter once per test binary, in the library's
// module, with -race under -greeter-race.
func greeterBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if build.dir, build.err = os.MkdirTemp("", "reliability-greeter-*"); build.err != nil {
			return
		}
		build.bin, build.err = greeterdrive.Build(context.Background(), build.dir, *raceFlag)
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

func cleanupBuild() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// greeter is one greeter process.
type greeter struct{ *greeterdrive.Process }

// startGreeter runs the greeter on a free port with FIRESTORE_EMULATOR_HOST
// = host and GOOGLE_CLOUD_PROJECT = project, and kills it when the test ends
// if it still runs. It does not wait for the greeter to listen: see
// waitListening.
func startGreeter(t testing.TB, host, project string) *greeter {
	t.Helper()
	p, err := greeterdrive.Start(greeterdrive.Config{Bin: greeterBinary(t), Dir: t.TempDir(), Emulator: host, Project: project})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("greeter on port %d: stdout (tail):\n%s\nstderr:\n%s", p.Port, tail(p.Stdout(), 40), tail(p.Stderr(), 40))
		}
	})
	return &greeter{p}
}

// runGreeter starts the greeter and waits until it accepts connections.
func runGreeter(t testing.TB, host, project string) *greeter {
	t.Helper()
	g := startGreeter(t, host, project)
	if err := g.WaitListening(30 * time.Second); err != nil {
		t.Fatalf("greeter: %v\nstdout:\n%s\nstderr:\n%s", err, g.Stdout(), g.Stderr())
	}
	return g
}

// terminate sends SIGTERM.
func (g *greeter) terminate(t testing.TB) {
	t.Helper()
	if err := g.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}

// checkNoPanic fails the test if the greeter's output shows a panic or a
// goroutine dump.
func (g *greeter) checkNoPanic(t testing.TB) {
	t.Helper()
	for name, out := range map[string]string{"stderr": g.Stderr(), "stdout": g.Stdout()} {
		if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
			t.Errorf("greeter %s shows a panic or goroutine dump:\n%s", name, tail(out, 60))
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// poll calls cond every interval until it reports done or an error, or
// timeout passes.
func poll(timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %v", timeout)
		}
		time.Sleep(interval)
	}
}

// testContext returns a context that ends with the test, or after limit.
func testContext(t testing.TB, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}
