package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func set(t *testing.T, c *firestore.Client, path string) {
	t.Helper()
	if _, err := c.Doc(path).Set(ctxFor(t), map[string]any{"v": path}); err != nil {
		t.Fatalf("set %q: %v", path, err)
	}
}

func documents(t *testing.T, host, project string) []string {
	t.Helper()
	got, err := Documents(ctxFor(t), host, project)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMainEmulatorServes(t *testing.T) {
	host := Require(t)
	if got := os.Getenv(EnvHost); got != host {
		t.Fatalf("%s = %q, Require = %q", EnvHost, got, host)
	}
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatalf("emulator at %s does not answer: %v", host, err)
	}
	conn.Close()

	project := ProjectID(t)
	c := NewClient(t, project)
	set(t, c, "sessions/x")
	snap, err := c.Doc("sessions/x").Get(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if v := snap.Data()["v"]; v != "sessions/x" {
		t.Fatalf("read back %v", v)
	}
}

func TestDocumentsListsEveryDocument(t *testing.T) {
	host := Require(t)
	project := ProjectID(t)
	c := NewClient(t, project)
	ctx := ctxFor(t)

	if got := documents(t, host, project); len(got) != 0 {
		t.Fatalf("new project has documents: %q", got)
	}

	// IDs a visitor could choose: they must stay one path segment.
	weird := []string{"we:ird", "sp ace", "pct%41", "q?h#f", "(default)", "ünï", "a+b=c&d", "..x"}
	for _, id := range weird {
		set(t, c, "sessions/"+id)
	}
	set(t, c, "sessions/x")
	set(t, c, "a/b/c/d")
	set(t, c, "p/q/r/s/t/u")
	if _, err := c.Doc("p/q/r/s").Set(ctx, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Doc("p/q/r/s").Delete(ctx); err != nil { // now missing again
		t.Fatal(err)
	}
	// Another project's data must not show up.
	set(t, NewClient(t, ProjectID(t)), "other/doc")

	want := []string{
		"a/b",     // missing: only has a subcollection
		"a/b/c/d", // nested
		"p/q",     // missing
		"p/q/r/s", // deleted, but still has a subcollection
		"p/q/r/s/t/u",
		"sessions/x",
	}
	for _, id := range weird {
		want = append(want, "sessions/"+id)
	}
	slices.Sort(want)
	if got := documents(t, host, project); !slices.Equal(got, want) {
		t.Fatalf("Documents:\n got %q\nwant %q", got, want)
	}

	// The emulator's own notion of missing documents agrees.
	for coll, want := range map[string][]string{
		"a":     {"a/b"},
		"p/q/r": {"p/q/r/s"},
	} {
		if got := listShowMissing(t, host, project, coll); !slices.Equal(got, want) {
			t.Errorf("list %s with showMissing: got %q, want %q", coll, got, want)
		}
	}

	// A colon in an ID on the way down.
	set(t, c, "sessions/we:ird/sub/d")
	set(t, c, "x:y/z:w/sub/d")
	want = append(want, "sessions/we:ird/sub/d", "x:y/z:w", "x:y/z:w/sub/d")
	slices.Sort(want)
	if got := documents(t, host, project); !slices.Equal(got, want) {
		t.Fatalf("Documents:\n got %q\nwant %q", got, want)
	}
}

// listShowMissing lists collection coll (no colon in it) over REST with
// showMissing, as the console does.
func listShowMissing(t *testing.T, host, project, coll string) []string {
	t.Helper()
	var resp struct {
		Documents []struct {
			Name string `json:"name"`
		} `json:"documents"`
	}
	if err := call(ctxFor(t), http.MethodGet, docsURL(host, project)+"/"+coll+"?showMissing=true", nil, &resp); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range resp.Documents {
		p, err := relPath(project, d.Name)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestReset(t *testing.T) {
	host := Require(t)
	project := ProjectID(t)
	other := ProjectID(t)
	c := NewClient(t, project)
	set(t, c, "sessions/x")
	set(t, c, "a/b/c/d")
	set(t, NewClient(t, other), "sessions/y")

	if err := Reset(ctxFor(t), host, project); err != nil {
		t.Fatal(err)
	}
	if got := documents(t, host, project); len(got) != 0 {
		t.Fatalf("after Reset: %q", got)
	}
	if got := documents(t, host, other); !slices.Equal(got, []string{"sessions/y"}) {
		t.Fatalf("Reset touched another project: %q", got)
	}
	set(t, c, "sessions/z") // still usable
	if got := documents(t, host, project); !slices.Equal(got, []string{"sessions/z"}) {
		t.Fatalf("after Reset and a write: %q", got)
	}
}

func TestKillRestartSamePort(t *testing.T) {
	Require(t) // the same skip/fail policy as the rest
	ctx := ctxFor(t)
	var p *Process
	err := timed(t, "Start", func() (err error) { p, err = Start(ctx, 0); return err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := timed(t, "p.Stop", func() error { return p.Stop() }); err != nil {
			t.Error(err)
		}
	})
	host := p.Host()
	if host == Require(t) {
		t.Fatalf("second emulator got Main's address %s", host)
	}
	project := ProjectID(t)
	c := NewClientAt(t, host, project)
	_ = timed(t, "first write", func() error { set(t, c, "sessions/before"); return nil })

	pgid := p.pgid()
	if err := timed(t, "p.Kill", func() error { return p.Kill() }); err != nil {
		t.Fatal(err)
	}
	if groupAlive(pgid) {
		t.Fatalf("process group %d alive after Kill", pgid)
	}
	// An HTTP request, not a bare connect: the sandbox's loopback network
	// can complete a TCP handshake for a moment after the listener is gone,
	// with nothing behind it to answer.
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Get("http://" + host + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("%s still answers HTTP after Kill", host)
	}
	if err := timed(t, "p.Kill", func() error { return p.Kill() }); err != nil {
		t.Fatalf("second Kill: %v", err)
	}

	if err := timed(t, "p.Restart", func() error { return p.Restart(ctx) }); err != nil {
		t.Fatal(err)
	}
	if p.Host() != host {
		t.Fatalf("restarted on %s, want %s", p.Host(), host)
	}
	if got := documents(t, host, project); len(got) != 0 {
		t.Fatalf("data survived a crash of the in-memory emulator: %q", got)
	}
	// The client made before the crash reconnects (after gRPC's backoff).
	_ = timed(t, "first write after restart", func() error { set(t, c, "sessions/after"); return nil })
	if got := documents(t, host, project); !slices.Equal(got, []string{"sessions/after"}) {
		t.Fatalf("after restart: %q", got)
	}

	// Stop is graceful, complete and idempotent; Restart works after it too.
	pgid = p.pgid()
	if err := timed(t, "p.Stop", func() error { return p.Stop() }); err != nil {
		t.Fatal(err)
	}
	if groupAlive(pgid) {
		t.Fatalf("process group %d alive after Stop", pgid)
	}
	if err := timed(t, "p.Stop", func() error { return p.Stop() }); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(p.logPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("log file left after Stop: %v", err)
	}
	if err := timed(t, "p.Restart", func() error { return p.Restart(ctx) }); err != nil {
		t.Fatal(err)
	}
	set(t, NewClientAt(t, host, project), "sessions/again")
}

func (p *Process) pgid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return 0
	}
	return p.run.pgid
}

func TestStartWithoutGcloud(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), 0)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "gcloud not on PATH") {
		t.Fatalf("Start without gcloud: %v", err)
	}
}

func TestStartPortTaken(t *testing.T) {
	if err := checkTools(); err != nil {
		t.Skip(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(ctxFor(t), l.Addr().(*net.TCPAddr).Port)
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("Start on a taken port: %v", err)
	}
}

// fakeTB records Skipf and Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Skipf(format string, a ...any)  { f.skipped = fmt.Sprintf(format, a...) }
func (f *fakeTB) Fatalf(format string, a ...any) { f.failed = fmt.Sprintf(format, a...) }

func TestRequireWithoutEmulator(t *testing.T) {
	state.Lock()
	host, reason, err := state.host, state.reason, state.err
	state.host, state.reason, state.err = "", "gcloud not on PATH", fmt.Errorf("%w: gcloud not on PATH", ErrUnavailable)
	state.Unlock()
	defer func() {
		state.Lock()
		state.host, state.reason, state.err = host, reason, err
		state.Unlock()
	}()

	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	Require(f)
	want := "firestore emulator unavailable (gcloud not on PATH); set FIRESTORE_EMULATOR_HOST or install the Cloud SDK emulator"
	if f.skipped != want || f.failed != "" {
		t.Fatalf("outside CI: skipped %q, failed %q", f.skipped, f.failed)
	}

	t.Setenv("CI", "true")
	f = &fakeTB{TB: t}
	Require(f)
	if f.skipped != "" || !strings.Contains(f.failed, "gcloud not on PATH") {
		t.Fatalf("under CI: skipped %q, failed %q", f.skipped, f.failed)
	}
}

func TestProjectID(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	seen := map[string]bool{}
	for _, name := range []string{"x", "Very/Long_Name With Spaces And ÜNICODE and more", "123", "--"} {
		t.Run(name, func(t *testing.T) {
			for range 50 {
				id := ProjectID(t)
				if !valid.MatchString(id) || strings.Contains(id, "--") {
					t.Fatalf("invalid project id %q", id)
				}
				if seen[id] {
					t.Fatalf("duplicate project id %q", id)
				}
				seen[id] = true
			}
		})
	}
}

func timed(t *testing.T, what string, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	t.Logf("%s took %v", what, time.Since(start).Round(time.Millisecond))
	return err
}
