// Package emulator runs tests against the real Google Cloud Firestore
// emulator (`gcloud emulators firestore start`).
//
// A test package starts (or reuses) one emulator for the whole test binary
// from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }
//
// and every test that needs Firestore asks for it:
//
//	func TestSomething(t *testing.T) {
//		host := emulator.Require(t)              // skips (fails under CI=true) if unavailable
//		project := emulator.ProjectID(t)         // unique per test: data is isolated
//		client := emulator.NewClient(t, project) // closed by t.Cleanup
//		// ... exercise the code under test with client ...
//		paths, err := emulator.Documents(ctx, host, project) // every document written
//		// emulator.Reset(ctx, host, project) empties the project again
//	}
//
// Main uses FIRESTORE_EMULATOR_HOST when it is already set (for example an
// emulator started by hand or by CI); otherwise it starts one on a free port,
// sets FIRESTORE_EMULATOR_HOST for the test binary and stops the emulator
// when the tests are done. If no emulator can be had, Require skips the test
// with a one-line reason, except under CI=true, where it fails the test.
//
// Tests that need to crash and restart an emulator start their own Process
// with Start and use Kill and Restart; NewClientAt connects a client to it.
// (Started returns the emulator Main started, shared by the whole binary.)
//
// Every emulator started here runs in its own process group (gcloud runs a
// shell script that runs java), which is signalled as a whole, and is watched
// by a tiny helper process that kills the group if the test binary dies
// without stopping it (panic, -timeout, SIGKILL).
package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firestore-sessions/sessions/internal/freeport"
)

// ErrUnavailable reports that the emulator cannot be run on this machine
// because gcloud or java is not installed (not on PATH).
var ErrUnavailable = errors.New("firestore emulator unavailable")

const (
	// readyTimeout bounds how long Start and Restart wait for the emulator's
	// port to answer, whatever the context says.
	readyTimeout = 60 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 10 * time.Second
	// exitTimeout bounds the wait for the process group to disappear after
	// SIGKILL.
	exitTimeout = 10 * time.Second
	// pollInterval is the period of every condition poll in this package.
	pollInterval = 50 * time.Millisecond
)

// Process is one emulator process started by this package. Its methods are
// safe for concurrent use.
type Process struct {
	port    int
	host    string
	logPath string

	mu  sync.Mutex
	run *run // nil when not running
}

// run is one launch of the emulator.
type run struct {
	cmd      *exec.Cmd
	pgid     int
	done     chan struct{} // closed when cmd.Wait has returned
	watchdog io.Closer     // closing it makes the watchdog kill the group
}

// Start launches `gcloud emulators firestore start --host-port=127.0.0.1:PORT`
// in its own process group, with stdout and stderr appended to a temporary
// log file, and waits until the emulator answers on its port, ctx ends or a
// minute has passed. Port 0 picks a free port. The error wraps ErrUnavailable
// when gcloud or java is not on PATH, and otherwise carries the tail of the
// emulator's log.
func Start(ctx context.Context, port int) (*Process, error) {
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("emulator: invalid port %d", port)
	}
	if err := checkTools(); err != nil {
		return nil, err
	}
	const attempts = 3 // only a port we picked ourselves is retried
	for attempt := 1; ; attempt++ {
		p, err := start(ctx, port)
		if err == nil || port != 0 || attempt == attempts || !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			return p, err
		}
	}
}

func start(ctx context.Context, port int) (*Process, error) {
	if port == 0 {
		var err error
		if port, err = freeport.Get(); err != nil {
			return nil, err
		}
	}
	logf, err := os.CreateTemp("", "firestore-emulator-*.log")
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	logf.Close()
	p := &Process{
		port:    port,
		host:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		logPath: logf.Name(),
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.launch(ctx, 0); err != nil {
		if st, serr := os.Stat(p.logPath); serr == nil && st.Size() == 0 {
			os.Remove(p.logPath) // nothing was started; otherwise keep the log
		}
		return nil, err
	}
	return p, nil
}

// checkTools reports ErrUnavailable when gcloud or java is missing.
func checkTools() error {
	if !supported {
		return fmt.Errorf("%w: unsupported operating system", ErrUnavailable)
	}
	if _, err := exec.LookPath("gcloud"); err != nil {
		return fmt.Errorf("%w: gcloud not on PATH", ErrUnavailable)
	}
	// gcloud itself looks java up on PATH before starting the emulator.
	if _, err := exec.LookPath("java"); err != nil {
		return fmt.Errorf("%w: java not on PATH", ErrUnavailable)
	}
	return nil
}

// Host returns the emulator's address, "127.0.0.1:PORT", suitable for
// FIRESTORE_EMULATOR_HOST.
func (p *Process) Host() string { return p.host }

// Group returns the id of the running emulator's process group (the
// gcloud wrapper, its Java server and the log relay), 0 when it is not
// running.
func (p *Process) Group() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return 0
	}
	return p.run.pgid
}

// Stop terminates the emulator: SIGTERM to its whole process group, then
// SIGKILL if it has not exited within 10 s, and waits until no process of the
// group is left. It removes the log file. Stop is idempotent; Restart may
// follow it.
func (p *Process) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.terminate(stopGrace)
	if rmErr := os.Remove(p.logPath); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
		err = fmt.Errorf("emulator: %w", rmErr)
	}
	return err
}

// Kill sends SIGKILL to the emulator's whole process group, as a crash
// would, and waits until no process of the group is left. The emulator keeps
// its data in memory only, so the data is gone. Kill is idempotent; Restart
// may follow it.
func (p *Process) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.terminate(0)
}

// Restart starts the emulator again on the same port and waits until it
// answers, as Start does. A running emulator is stopped first. The new
// emulator starts empty.
func (p *Process) Restart(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.terminate(stopGrace); err != nil {
		return err
	}
	if err := checkTools(); err != nil {
		return err
	}
	// The old group is gone, so its listening socket is closed; the short
	// wait only covers a port briefly held by someone else.
	return p.launch(ctx, exitTimeout)
}

var errPortTaken = errors.New("port already in use")

// launch starts the emulator on p.port and waits until it is ready. The
// port must be free, or become free within portWait. p.mu is held and p.run
// is nil.
func (p *Process) launch(ctx context.Context, portWait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()

	// A port that is still held (by the previous emulator's java finishing
	// its exit, or by anyone else) would make the readiness probe lie.
	if err := waitPortFree(ctx, p.port, portWait); err != nil {
		return fmt.Errorf("emulator: %s: %w: %v", p.host, errPortTaken, err)
	}

	logf, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	fmt.Fprintf(logf, "=== %s: gcloud emulators firestore start --host-port=%s\n", time.Now().Format(time.RFC3339Nano), p.host)
	cmd := exec.Command("gcloud", "emulators", "firestore", "start", "--host-port="+p.host)
	cmd.Stdout = logf // an *os.File: no copying goroutine that java's
	cmd.Stderr = logf // inherited descriptors could keep alive
	cmd.Env = append(os.Environ(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	cmd.SysProcAttr = newGroupAttr()
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("emulator: starting gcloud: %w", err)
	}
	r := &run{cmd: cmd, pgid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(r.done)
	}()
	p.run = r
	if r.watchdog, err = startWatchdog(r.pgid); err != nil {
		_ = p.terminate(0)
		return fmt.Errorf("emulator: starting watchdog: %w", err)
	}

	if err := p.waitReady(ctx, r); err != nil {
		_ = p.terminate(0)
		tail := logTail(p.logPath)
		if strings.Contains(tail, "Address already in use") || strings.Contains(tail, "BindException") {
			err = fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return fmt.Errorf("emulator: %s: %w\n--- log %s (tail) ---\n%s", p.host, err, p.logPath, tail)
	}
	return nil
}

// waitReady polls until the emulator answers HTTP on its port.
func (p *Process) waitReady(ctx context.Context, r *run) error {
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + p.host + "/"
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil // any HTTP answer: the server is serving
		}
		select {
		case <-r.done:
			return fmt.Errorf("gcloud exited before the emulator was ready (%v)", r.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("waiting for the emulator to be ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// terminate ends the current run, if any: SIGTERM and up to grace for a
// clean exit when grace > 0, then SIGKILL. It returns once no process of the
// group is left. p.mu is held.
func (p *Process) terminate(grace time.Duration) error {
	r := p.run
	if r == nil {
		return nil
	}
	gone := func() bool {
		select {
		case <-r.done:
			return !groupAlive(r.pgid)
		default:
			return false
		}
	}
	if grace > 0 {
		_ = signalGroup(r.pgid, sigTerm)
		if waitFor(grace, gone) {
			return p.finish(r)
		}
	}
	if err := signalGroup(r.pgid, sigKill); err != nil {
		return fmt.Errorf("emulator: killing process group %d: %w", r.pgid, err)
	}
	if !waitFor(exitTimeout, gone) {
		return fmt.Errorf("emulator: process group %d still alive %v after SIGKILL", r.pgid, exitTimeout)
	}
	return p.finish(r)
}

func (p *Process) finish(r *run) error {
	if r.watchdog != nil {
		r.watchdog.Close() // the group is gone: the watchdog's kill finds nothing
	}
	p.run = nil
	return nil
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
}

// waitPortFree polls until 127.0.0.1:port can be bound, for at most
// timeout (0: check once) or until ctx ends.
func waitPortFree(ctx context.Context, port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

// logTail returns the last lines of the log file at path.
func logTail(path string) string {
	const maxBytes, maxLines = 4096, 20
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(log unavailable: %v)", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(-maxBytes, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}
