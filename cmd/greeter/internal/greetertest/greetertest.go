// Package greetertest builds the greeter command and runs it as a process
// of its own, for the tests of the greeter and of its browser test module.
package greetertest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/freeport"
)

// Package is the import path of the greeter command.
const Package = "github.com/firestore-sessions/sessions/cmd/greeter"

const (
	readyTimeout = time.Minute // for the port to answer, Firestore's first read included
	stopTimeout  = 15 * time.Second
	pollInterval = 20 * time.Millisecond
)

// Build compiles the greeter into a temporary directory of t and returns
// the binary's path. It builds with -race when the test binary has it, so
// that the greeter's own races fail the tests too.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "greeter")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, Package)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", Package, err, out)
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
type Process struct {
	// URL is the greeter's base URL: "http://127.0.0.1:PORT".
	URL string
	// Port is the port it listens on.
	Port int

	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	output string        // file of its stdout and stderr
}

// Start runs the greeter binary bin with an environment of only PATH, HOME,
// PORT (a free port) and env ("NAME=value" entries), waits until it accepts
// connections, and kills it when the test ends if it is still running.
func Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	port := freeport.For(t)
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"PORT=" + strconv.Itoa(port),
	}, env...)
	cmd.Stdout, cmd.Stderr = out, out // a file: no copying goroutine
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the greeter: %v", err)
	}
	p := &Process{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
		Port:   port,
		cmd:    cmd,
		done:   make(chan struct{}),
		output: out.Name(),
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("greeter on port %d said:\n%s", port, p.Output())
		}
	})
	if err := p.waitReady(); err != nil {
		t.Fatalf("greeter on port %d: %v\n%s", port, err, p.Output())
	}
	return p
}

// waitReady polls until the greeter accepts connections, exits, or the
// ready timeout passes.
func (p *Process) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port))
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("exited before serving (%v)", p.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %v", readyTimeout)
		}
		time.Sleep(pollInterval)
	}
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the greeter and returns its exit code once it has
// exited; it fails the test if that takes longer than 15 seconds.
func (p *Process) Stop(t testing.TB) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(stopTimeout):
		t.Fatalf("greeter still running %v after SIGTERM", stopTimeout)
		return -1
	}
}

// Output returns what the greeter has written to stdout and stderr so far.
func (p *Process) Output() string {
	b, err := os.ReadFile(p.output)
	if err != nil {
		return fmt.Sprintf("(output unavailable: %v)", err)
	}
	return string(b)
}
