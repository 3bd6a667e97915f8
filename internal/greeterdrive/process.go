package greeterdrive

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/firestore-sessions/sessions/internal/freeport"
)

// Package is the import path of the greeter command.
const Package = "github.com/firestore-sessions/sessions/cmd/greeter"

// library is the module whose directory holds the greeter's module, in
// cmd/greeter.
const library = "github.com/firestore-sessions/sessions"

// Build compiles the greeter into dir, in its own module (cmd/greeter) as
// its users build it (whichever module of the workspace calls it), with
// -race if race, and returns the binary's path.
func Build(ctx context.Context, dir string, race bool) (string, error) {
	root, err := ModuleDir(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "greeter")
	args := []string{"build", "-C", filepath.Join(root, "cmd", "greeter"), "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, ".")
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// ModuleDir returns the directory of the library's module.
func ModuleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", library).Output()
	if err != nil {
		return "", fmt.Errorf("locating the module %s: %w", library, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Config says how to run one process.
type Config struct {
	Bin string // the binary: the greeter, or an app that takes the same environment
	// Dir receives the process's stdout and stderr files; required.
	Dir string
	// Emulator is FIRESTORE_EMULATOR_HOST ("" leaves it unset).
	Emulator string
	// Project is GOOGLE_CLOUD_PROJECT ("" leaves it unset).
	Project string
	// Env holds more NAME=value entries, after those above.
	Env []string
	// Inherit starts the environment from this process's, less the names
	// above and Cloud's K_SERVICE and GAE_SERVICE; otherwise it holds only
	// PATH and HOME.
	Inherit bool
	// Port to listen on (0: a free one).
	Port int
}

// overridden are the names Start sets or that make the greeter believe it
// runs on Google Cloud.
var overridden = []string{"PORT", "FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT", "K_SERVICE", "GAE_SERVICE"}

// Process is one running process started by Start.
type Process struct {
	URL  string // "http://127.0.0.1:PORT"
	Addr string // "127.0.0.1:PORT"
	Port int

	cmd            *exec.Cmd
	done           chan struct{} // closed once the process has exited
	stdout, stderr string        // files
}

// Start runs cfg.Bin with PORT set, and the environment cfg describes. It
// does not wait for the process to listen: see WaitListening. On Linux the
// process is killed if this one dies first. Stop or Kill it when done.
func Start(cfg Config) (*Process, error) {
	if cfg.Dir == "" {
		return nil, errors.New("greeterdrive: Config.Dir is required")
	}
	port := cfg.Port
	if port == 0 {
		var err error
		if port, err = freeport.Get(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp(cfg.Dir, "process-")
	if err != nil {
		return nil, err
	}
	p := &Process{
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
		Addr:   "127.0.0.1:" + strconv.Itoa(port),
		Port:   port,
		done:   make(chan struct{}),
		stdout: filepath.Join(dir, "stdout"),
		stderr: filepath.Join(dir, "stderr"),
	}
	stdout, err := os.Create(p.stdout)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.Create(p.stderr)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if cfg.Inherit {
		env = environWithout(overridden...)
	}
	env = append(env, "PORT="+strconv.Itoa(port))
	if cfg.Emulator != "" {
		env = append(env, "FIRESTORE_EMULATOR_HOST="+cfg.Emulator)
	}
	if cfg.Project != "" {
		env = append(env, "GOOGLE_CLOUD_PROJECT="+cfg.Project)
	}
	p.cmd = exec.Command(cfg.Bin)
	p.cmd.Env = append(env, cfg.Env...)
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr // files: no copying goroutines
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.Bin, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func environWithout(keys ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, d := range keys {
			drop = drop || k == d
		}
		if !drop {
			env = append(env, kv)
		}
	}
	return env
}

// pollInterval is how often WaitListening tries to connect.
const pollInterval = 20 * time.Millisecond

// WaitListening waits until the process accepts connections, exits, or
// timeout passes.
func (p *Process) WaitListening(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("port %d: exited with code %d before listening", p.Port, p.cmd.ProcessState.ExitCode())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d: not accepting connections after %v", p.Port, timeout)
		}
		select {
		case <-p.done:
		case <-time.After(pollInterval):
		}
	}
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process; a process that has exited already is no
// error.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !p.Exited() && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// Wait waits up to timeout for the process to exit and returns its exit
// code, or -1 if it still runs.
func (p *Process) Wait(timeout time.Duration) int {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

// Stop sends SIGTERM and waits up to grace for the process to exit; then
// it kills it. It returns the exit code, and an error if it had to kill.
func (p *Process) Stop(grace time.Duration) (int, error) {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	if code := p.Wait(grace); code != -1 || p.Exited() {
		return p.cmd.ProcessState.ExitCode(), nil
	}
	p.Kill()
	return p.cmd.ProcessState.ExitCode(), fmt.Errorf("port %d: still running %v after SIGTERM; killed", p.Port, grace)
}

// Kill kills the process, if it still runs, and waits until it has exited.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// Stdout returns what the process has written to stdout so far (the
// greeter's logs).
func (p *Process) Stdout() string { return readFile(p.stdout) }

// Stderr returns what the process has written to stderr so far.
func (p *Process) Stderr() string { return readFile(p.stderr) }

// Output returns both, stdout first.
func (p *Process) Output() string {
	return "stdout:\n" + p.Stdout() + "\nstderr:\n" + p.Stderr()
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(unavailable: %v)", err)
	}
	return string(b)
}
