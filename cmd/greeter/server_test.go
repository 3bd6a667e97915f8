package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// managerProbe stands for the sessions' Manager: it records its Shutdown
// call.
type managerProbe struct {
	requestsDone <-chan struct{} // closed when the handler has returned
	err          error           // Shutdown's answer

	mu            sync.Mutex
	calls         int
	afterRequests bool          // the requests were done at the call
	left          time.Duration // time left before the call's deadline
}

func (p *managerProbe) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	select {
	case <-p.requestsDone:
		p.afterRequests = true
	default:
	}
	if d, ok := ctx.Deadline(); ok {
		p.left = time.Until(d)
	}
	return p.err
}

// noManager is a Manager with nothing to wait for.
type noManager struct{}

func (noManager) Shutdown(context.Context) error { return nil }

// On shutdown the server stops accepting connections, lets the request in
// flight finish, then waits for the Manager's background writes, within
// the shutdown's deadline, and then returns nil. run closes the store only
// after that. (run's own Manager has no background writes to wait for:
// the greeter never calls Manager.Load. So only serve's part is checked.)
func TestServeFinishesRequestsInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	started, release, handled := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handled)
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	m := &managerProbe{requestsDone: handled}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, h, m, slog.New(slog.DiscardHandler)) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel()

	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break // no longer accepting
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5 s after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("serve returned %v before its request finished", err)
	default:
	}

	close(release)
	if r := <-got; r.err != nil || r.body != "done" {
		t.Errorf("request in flight: %q, %v; want done", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v, want nil after a graceful shutdown", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls != 1 || !m.afterRequests || m.left <= 0 || m.left > shutdownTimeout {
		t.Errorf("Manager.Shutdown: %d calls, after the requests %v, %v before the deadline; want 1 call after the requests, within %v",
			m.calls, m.afterRequests, m.left, shutdownTimeout)
	}
}

// When the Manager's writes outlast the deadline, the shutdown is not
// graceful: serve says so, and the greeter exits 1.
func TestServeReportsUnfinishedWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // shut down at once
	m := &managerProbe{err: context.DeadlineExceeded}
	err = serve(ctx, ln, http.NotFoundHandler(), m, slog.New(slog.DiscardHandler))
	if !errors.Is(err, context.DeadlineExceeded) || m.calls != 1 {
		t.Errorf("serve: %v after %d Shutdown calls; want the Manager's error after 1", err, m.calls)
	}
}

// A request header over the limit gets 431, however large; one within it is
// served.
func TestServeLimitsHeaders(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), noManager{}, slog.New(slog.DiscardHandler))
	}()
	defer func() {
		cancel()
		<-served
	}()
	for _, c := range []struct {
		size int
		want string
	}{
		{maxHeaderBytes / 2, "200"},
		{maxHeaderBytes + 8<<10, "431"}, // past net/http's 4 KiB of slack
		{1000 << 10, "431"},
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go func() { // the server may answer before it has read it all
			_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", c.size)+"\r\n\r\n")
		}()
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 "+c.want) {
			t.Errorf("%d-byte header: %q, %v; want %s", c.size, line, err, c.want)
		}
	}
}
