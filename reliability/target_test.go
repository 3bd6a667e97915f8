package reliability

import (
	"bytes"
	"context"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// server is what a case runs against: the greeter binary, or the in-process
// server built from the library.
type server struct {
	base    string     // http://127.0.0.1:PORT
	greeter *greeter   // the greeter binary, or nil
	inProc  *inProcess // the in-process server, or nil
}

// checkNoPanic fails the test if the server's output shows a panic.
func (s server) checkNoPanic(t testing.TB) {
	t.Helper()
	if s.greeter != nil {
		s.greeter.checkNoPanic(t)
	} else {
		s.inProc.checkNoPanic(t)
	}
}

// target starts a server on the store of project at host; wait says
// whether it may wait for the store (false: the store is down, and the
// server must listen all the same).
type target struct {
	name  string
	start func(t *testing.T, host, project string) server
}

var (
	greeterTarget = target{"greeter binary", func(t *testing.T, host, project string) server {
		g := startGreeter(t, host, project)
		if err := g.WaitListening(30 * time.Second); err != nil {
			t.Fatalf("greeter: %v; stderr: %s", err, g.Stderr())
		}
		return server{base: g.URL, greeter: g}
	}}
	inProcessTarget = target{"in-process server", func(t *testing.T, host, project string) server {
		p := startInProcess(t, host, project)
		return server{base: p.URL, inProc: p}
	}}
	targets = []target{greeterTarget, inProcessTarget}
)

// startEmulatorAt starts an emulator of the test's own on port (0: a free
// one), stopped when the test ends.
func startEmulatorAt(t testing.TB, port int) *emulator.Process {
	t.Helper()
	emulator.Require(t) // skip, or fail under CI, without gcloud
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := emulator.Start(ctx, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("stopping the emulator: %v", err)
		}
	})
	return p
}

// restartEmulator restarts p on its port and returns when it answers.
func restartEmulator(t testing.TB, p *emulator.Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
}

// settledGoroutines polls runtime.NumGoroutine until it has not changed for
// a quarter of a second (or 10 s have passed) and returns it.
func settledGoroutines() int {
	n, same := runtime.NumGoroutine(), 0
	_ = poll(10*time.Second, 50*time.Millisecond, func() (bool, error) {
		m := runtime.NumGoroutine()
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
		return same >= 5, nil
	})
	return n
}

// goroutineDump returns the goroutines of the test binary, grouped.
func goroutineDump() string {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.String()
}
