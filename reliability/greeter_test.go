package reliability

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/freeport"
)

// greeterPackage is the import path of the greeter command.
const greeterPackage = "github.com/firestore-sessions/sessions/cmd/greeter"

// greeterShutdownTimeout is the greeter's own bound on its graceful
// shutdown (shutdownTimeout in cmd/greeter/server.go).
const greeterShutdownTimeout = 8 * time.Second

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// greeterBinary builds the greeter once per test binary, from the repository
// root: go build -o TMP/greeter github.com/firestore-sessions/sessions/cmd/greeter.
func greeterBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		root, err := repoRoot()
		if err != nil {
			build.err = err
			return
		}
		if build.dir, build.err = os.MkdirTemp("", "reliability-greeter-*"); build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "greeter")
		args := []string{"build", "-o", build.bin}
		if *raceFlag {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, greeterPackage)...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build %s (in %s): %v\n%s", greeterPackage, root, err, out)
		}
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

// repoRoot returns the directory of the sessions module: the parent of this
// module.
func repoRoot() (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(b, []byte("module github.com/firestore-sessions/sessions\n")) {
		return "", fmt.Errorf("%s is not the root of the sessions module (%v)", root, err)
	}
	return root, nil
}

// greeter is one greeter process.
type greeter struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
	Port int

	cmd    *exec.Cmd
	done   chan struct{} // closed once the process has exited
	stdout string        // file of its stdout (the logs)
	stderr string        // file of its stderr
}

// startGreeter runs the greeter on a free port with FIRESTORE_EMULATOR_HOST
// = host and GOOGLE_CLOUD_PROJECT = project, and kills it when the test ends
// if it still runs. It does not wait for the greeter to listen: see
// waitListening.
func startGreeter(t testing.TB, host, project string) *greeter {
	t.Helper()
	bin := greeterBinary(t)
	port := freeport.For(t)
	dir := t.TempDir()
	g := &greeter{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
		Addr:   "127.0.0.1:" + strconv.Itoa(port),
		Port:   port,
		done:   make(chan struct{}),
		stdout: filepath.Join(dir, "stdout"),
		stderr: filepath.Join(dir, "stderr"),
	}
	stdout, err := os.Create(g.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(g.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	g.cmd = exec.Command(bin)
	g.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"PORT=" + strconv.Itoa(port),
		"FIRESTORE_EMULATOR_HOST=" + host,
		"GOOGLE_CLOUD_PROJECT=" + project,
	}
	g.cmd.Stdout, g.cmd.Stderr = stdout, stderr // files: no copying goroutines
	g.cmd.SysProcAttr = childAttr()
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("starting the greeter: %v", err)
	}
	go func() {
		_ = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(func() {
		if !g.exited() {
			_ = g.cmd.Process.Kill()
			<-g.done
		}
		if t.Failed() {
			t.Logf("greeter on port %d: stdout (tail):\n%s\nstderr:\n%s", port, tail(g.Stdout(), 40), tail(g.Stderr(), 40))
		}
	})
	return g
}

// runGreeter starts the greeter and waits until it accepts connections.
func runGreeter(t testing.TB, host, project string) *greeter {
	t.Helper()
	g := startGreeter(t, host, project)
	if err := g.waitListening(30 * time.Second); err != nil {
		t.Fatalf("greeter: %v\nstdout:\n%s\nstderr:\n%s", err, g.Stdout(), g.Stderr())
	}
	return g
}

// waitListening polls until the greeter accepts connections, exits, or
// timeout passes.
func (g *greeter) waitListening(timeout time.Duration) error {
	err := poll(timeout, 20*time.Millisecond, func() (bool, error) {
		if c, err := net.DialTimeout("tcp", g.Addr, time.Second); err == nil {
			c.Close()
			return true, nil
		}
		if g.exited() {
			return false, fmt.Errorf("exited with code %d before listening", g.cmd.ProcessState.ExitCode())
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("on port %d: %w", g.Port, err)
	}
	return nil
}

func (g *greeter) exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM.
func (g *greeter) terminate(t testing.TB) {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil && !g.exited() {
		t.Fatalf("SIGTERM: %v", err)
	}
}

// wait waits up to timeout for the greeter to exit and returns its exit
// code, or -1 if it still runs.
func (g *greeter) wait(timeout time.Duration) int {
	select {
	case <-g.done:
		return g.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

// Stdout returns the greeter's logs so far.
func (g *greeter) Stdout() string { return readFile(g.stdout) }

// Stderr returns what the greeter wrote to stderr so far.
func (g *greeter) Stderr() string { return readFile(g.stderr) }

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

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(unavailable: %v)", err)
	}
	return string(b)
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
