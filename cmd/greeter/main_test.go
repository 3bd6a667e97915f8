package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/cmd/greeter/internal/greetertest"
	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/freeport"
	"github.com/firestore-sessions/sessions/internal/tcpproxy"
)

// TestMain starts the Firestore emulator unless FIRESTORE_EMULATOR_HOST
// names one; the tests that need it skip without it (and fail under CI=true).
func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }

// syncBuilder is a strings.Builder that the server's goroutines and the test
// can share.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run serves until its context ends, then shuts down and returns 0.
func TestRunServesUntilCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuilder
	code := make(chan int, 1)
	go func() { code <- run(ctx, nil, env("PORT="+strconv.Itoa(port)), &stdout, &stderr) }()

	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "msg=listening") {
		select {
		case c := <-code:
			t.Fatalf("run returned %d before serving; stderr %q", c, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening after 30 s; stdout %q", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, body := greetertest.Request(t, "GET", url, nil)
	if views, _ := greetertest.ParsePage(t, body); views != 1 {
		t.Errorf("first visit: %q", body)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d after cancel, want 0; stderr %q", c, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run still serving 15 s after its context ended")
	}
	out := stdout.String()
	if n := strings.Count(out, "not shared between instances"); n != 1 {
		t.Errorf("%d log lines about the memory store, want 1:\n%s", n, out)
	}
	if stderr.String() != "" {
		t.Errorf("stderr %q, want nothing", stderr.String())
	}
}

// `go run ./cmd/greeter` with no environment serves the page from memory,
// and exits 0 on SIGTERM.
func TestBinaryWithoutEnvironment(t *testing.T) {
	bin := greetertest.Build(t)
	p := greetertest.Start(t, bin)

	resp, body := greetertest.Request(t, "GET", p.URL+"/", nil)
	if views, _ := greetertest.ParsePage(t, body); views != 1 {
		t.Errorf("first visit: %q", body)
	}
	_, body = greetertest.Request(t, "GET", p.URL+"/", greetertest.SessionCookie(resp))
	if views, _ := greetertest.ParsePage(t, body); views != 2 {
		t.Errorf("second visit: %q", body)
	}
	if code := p.Stop(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.Output())
	}
	if out := p.Output(); strings.Count(out, "not shared between instances") != 1 || !strings.Contains(out, "msg=\"shut down\"") {
		t.Errorf("output, want one memory store line and a shutdown line:\n%s", out)
	}
}

// Two instances on one Firestore emulator share their sessions: a cookie
// from either is honoured by the other, and the count goes on.
func TestTwoInstancesShareSessions(t *testing.T) {
	host := emulator.Require(t)
	project := emulator.ProjectID(t)
	bin := greetertest.Build(t)
	env := []string{"FIRESTORE_EMULATOR_HOST=" + host, "GOOGLE_CLOUD_PROJECT=" + project}
	a := greetertest.Start(t, bin, env...)
	b := greetertest.Start(t, bin, env...)

	resp, body := greetertest.Request(t, "GET", a.URL+"/", nil)
	views, greeting := greetertest.ParsePage(t, body)
	cookie := greetertest.SessionCookie(resp)
	if views != 1 || cookie == nil {
		t.Fatalf("A, first visit: %q, cookie %v", body, cookie)
	}
	for i, p := range []*greetertest.Process{b, a, b, a, b} {
		name := map[*greetertest.Process]string{a: "A", b: "B"}[p]
		resp, body := greetertest.Request(t, "GET", p.URL+"/", cookie)
		v, g := greetertest.ParsePage(t, body)
		if v != i+2 || g != greeting {
			t.Fatalf("%s, visit %d: %q, want %d views for %q", name, i+2, body, i+2, greeting)
		}
		if c := greetertest.SessionCookie(resp); c != nil {
			t.Fatalf("%s, visit %d: sets cookie %v; the cookie is sent only when it changes", name, i+2, c)
		}
	}

	docs, err := emulator.Documents(context.Background(), host, project)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(cookie.Value)) // documents are named by the hashed id
	if want := "sessions/" + hex.EncodeToString(sum[:]); len(docs) != 1 || docs[0] != want {
		t.Errorf("documents %q, want only %q", docs, want)
	}
	for _, p := range []*greetertest.Process{a, b} {
		if code := p.Stop(t); code != 0 {
			t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.Output())
		}
	}
}

// The greeter listens at once, even with Firestore down: it checks the
// database in the background, answers 503 meanwhile, and serves the page
// once Firestore answers.
func TestServesWhileFirestoreIsDown(t *testing.T) {
	upstream := emulator.Require(t)
	project := emulator.ProjectID(t)
	host := "127.0.0.1:" + strconv.Itoa(freeport.For(t)) // nothing listens there yet
	bin := greetertest.Build(t)

	start := time.Now()
	p := greetertest.Start(t, bin, "FIRESTORE_EMULATOR_HOST="+host, "GOOGLE_CLOUD_PROJECT="+project)
	if d := time.Since(start); d > time.Second {
		t.Errorf("listening %v after the start with Firestore down, want within 1 s", d.Round(time.Millisecond))
	}
	for range 2 {
		resp, body := greetertest.Request(t, "GET", p.URL+"/", nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || greetertest.SessionCookie(resp) != nil {
			t.Fatalf("with Firestore down: %d, Retry-After %q, cookie %v: %q; want 503 with Retry-After and no cookie",
				resp.StatusCode, resp.Header.Get("Retry-After"), greetertest.SessionCookie(resp), body)
		}
	}
	// The check's outcome is logged, within its timeout.
	for deadline := time.Now().Add(2 * startTimeout); !strings.Contains(p.Output(), "Firestore does not answer yet"); {
		if time.Now().After(deadline) {
			t.Fatalf("no warning that Firestore does not answer:\n%s", p.Output())
		}
		time.Sleep(20 * time.Millisecond) // polling another process's output
	}

	// Firestore comes up where the greeter looks for it.
	proxy, err := tcpproxy.StartOn(host, upstream, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	var cookie *http.Cookie
	for deadline := time.Now().Add(time.Minute); ; {
		resp, body := greetertest.Request(t, "GET", p.URL+"/", nil)
		if resp.StatusCode == http.StatusOK {
			if views, _ := greetertest.ParsePage(t, body); views != 1 {
				t.Fatalf("first page once Firestore answers: %q", body)
			}
			cookie = greetertest.SessionCookie(resp)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d a minute after Firestore came up: %q", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond) // polling another process, which reconnects by itself
	}
	_, body := greetertest.Request(t, "GET", p.URL+"/", cookie)
	if views, _ := greetertest.ParsePage(t, body); views != 2 {
		t.Errorf("second visit: %q", body)
	}
	if code := p.Stop(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.Output())
	}
}

// fakePing is a store whose Ping returns err, once ctx is done if wait.
type fakePing struct {
	err  error
	wait bool
}

func (f fakePing) Ping(ctx context.Context) error {
	if f.wait {
		<-ctx.Done()
	}
	return f.err
}

// The check logs what it finds, in one line; at shutdown, nothing.
func TestCheckFirestore(t *testing.T) {
	for _, c := range []struct {
		name string
		st   fakePing
		stop bool // the greeter shuts down during the check
		want string
	}{
		{"answers", fakePing{}, false, `level=INFO msg="Firestore answers"`},
		{"unavailable", fakePing{err: fmt.Errorf("%w: connection refused", sessions.ErrUnavailable)}, false, `level=WARN msg="Firestore does not answer yet`},
		{"timeout", fakePing{err: context.DeadlineExceeded, wait: true}, false, `level=WARN msg="Firestore does not answer yet`},
		{"unusable", fakePing{err: errors.New("sessions: firestore ping: Datastore mode")}, false, `level=ERROR msg="Firestore database unusable`},
		{"shutdown", fakePing{err: context.Canceled, wait: true}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs strings.Builder
			ctx, cancel := context.WithCancel(context.Background())
			if c.stop {
				cancel()
			}
			checkFirestore(ctx, c.st, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
			cancel()
			if got := logs.String(); strings.Count(got, "\n") != min(len(c.want), 1) || !strings.Contains(got, c.want) {
				t.Errorf("log %q, want one line with %q", got, c.want)
			}
		})
	}
}

// Against an address where nothing listens, the check warns within its
// timeout that Firestore does not answer yet.
func TestCheckFirestoreUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("FIRESTORE_EMULATOR_HOST", host)

	start := time.Now()
	store, err := openFirestore(context.Background(), "demo-greeter", "", time.Second)
	if err != nil {
		t.Fatalf("opening a store with Firestore down: %v, want a store", err)
	}
	defer store.Close()
	var logs strings.Builder
	checkFirestore(context.Background(), store, time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "does not answer yet") {
		t.Errorf("log %q, want a warning that Firestore does not answer", logs.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v with a timeout of 1 s", d)
	}
}
