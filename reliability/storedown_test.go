package reliability

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/freeport"
	"github.com/google/uuid"
)

// recoveryLimit bounds the wait for the service to resume once the store
// answers again. OpenFirestore caps gRPC's reconnection backoff at 500 ms
// (its default grows to 120 s): the figure is reported, the limit only
// stops a stuck test.
const recoveryLimit = 90 * time.Second

// Case 1: the server starts while nothing listens where the store should
// be. Every request gets a 503 within the deadline and no session cookie;
// once an emulator starts on that port, the service resumes by itself.
func TestStoreDownAtStart(t *testing.T) {
	emulator.Require(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) { storeDownAtStart(t, tg) })
	}
}

func storeDownAtStart(t *testing.T, tg target) {
	x := rep.row(t, "1. Store down at start", tg.name)
	port := freeport.For(t) // nothing listens there
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	project := emulator.ProjectID(t)
	var srv server
	if tg.name == greeterTarget.name {
		g := startGreeter(t, host, project)
		if err := g.WaitListening(30 * time.Second); err != nil {
			x.update(func(x *row) { x.Notes = "greeter " + err.Error() + ": " + strings.TrimSpace(g.Stderr()) })
			t.Fatalf("greeter with the store down: %v; want it to listen and answer 503 until the store comes up.\n"+
				"It should listen at once and check the database in the background (cmd/greeter/store.go, checkFirestore); stderr:\n%s", err, g.Stderr())
		}
		srv = server{base: g.URL, greeter: g}
	} else {
		srv = tg.start(t, host, project)
	}

	// Store down: half the clients send no cookie, half a cookie of a
	// session that was never stored.
	never := uuid.NewString()
	ws := make([]worker, p().downClients)
	for i := range ws {
		if i%2 == 1 {
			ws[i].Cookie = never
		}
	}
	l := startLoad(srv.base, ws, false)
	time.Sleep(p().downFor) // load duration
	down := l.finish()
	tl := count(down)
	t.Logf("store down: %v", tl)
	if tl.unavailable != tl.requests || tl.requests == 0 {
		t.Errorf("store down: %v; want every request answered 503; for example:\n%s", tl, joinLines(tl.examples))
	}
	if tl.max503 > deadline+margin {
		t.Errorf("store down: a 503 took %v, want within the deadline %v (+%v margin)", tl.max503.Round(time.Millisecond), deadline, margin)
	}
	for _, r := range down {
		if r.Got != "" {
			t.Errorf("store down: a %d sets session cookie %q for a session that was never stored", r.Status, r.Got)
			break
		}
	}
	for _, r := range down {
		if r.Status == http.StatusServiceUnavailable && r.RetryAfter == "" {
			t.Errorf("store down: a 503 without Retry-After")
			break
		}
	}

	// Once the first 503s have come, the middleware fails fast instead of
	// waiting for the store's deadline again and again. (In the short form
	// the outage may be too short for any request to start after them.)
	var firstEnd time.Time
	for _, r := range down {
		if r.Status == http.StatusServiceUnavailable && (firstEnd.IsZero() || r.End.Before(firstEnd)) {
			firstEnd = r.End
		}
	}
	var later []result
	for _, r := range down {
		if r.Start.After(firstEnd) {
			later = append(later, r)
		}
	}
	if med, _, n := latencies503(later); n > 0 && med > time.Second {
		t.Errorf("store down: median 503 after %v once the first came, want the middleware to fail fast (well under the %v deadline)", med.Round(time.Millisecond), deadline)
	}

	// The store comes up on that port: no restart of the server.
	startEmulatorAt(t, port)
	up := time.Now()
	client := newClient(1)
	defer client.CloseIdleConnections()
	var first result
	var recovering []result
	err := poll(recoveryLimit, 100*time.Millisecond, func() (bool, error) {
		r := visit(context.Background(), client, srv.base, "")
		recovering = append(recovering, r)
		if r.Status == http.StatusOK && r.Err == nil {
			first = r
			return true, nil
		}
		if r.Status != http.StatusServiceUnavailable || r.Latency() > deadline+margin {
			t.Errorf("while the store comes up: %v; want 503 within the deadline, or 200", r)
		}
		return false, nil
	})
	all := append(down, recovering...)
	if err != nil {
		x.set(count(all))
		x.update(func(x *row) { x.Recovery = "none in " + recoveryLimit.String() })
		t.Fatalf("service not resumed %v after the store came up: %v", recoveryLimit, err)
	}
	recovery := first.End.Sub(up)
	t.Logf("store up: first 200 after %v (%d requests answered 503 meanwhile)", recovery.Round(time.Millisecond), len(recovering)-1)

	// The service goes on as usual: the session counts, and the cookie of
	// the session that was never stored gets a session of its own.
	id := first.Got
	for want := int64(2); want <= 6; want++ {
		r := visit(context.Background(), client, srv.base, id)
		all = append(all, r)
		if r.Status != http.StatusOK || r.Err != nil || r.Views != want || r.Got != id {
			t.Errorf("after recovery, visit %d: %v; want %d views of session %s", want, r, want, id)
		}
	}
	r := visit(context.Background(), client, srv.base, never)
	all = append(all, r)
	if r.Status != http.StatusOK || r.Views != 1 || r.Got == never || r.Got == "" {
		t.Errorf("never-stored cookie after recovery: %v; want a fresh session", r)
	}
	checkDocuments(t, host, project, map[string]bool{id: true, r.Got: true})
	srv.checkNoPanic(t)

	x.set(count(all))
	x.update(func(x *row) {
		x.Recovery = recovery.Round(10*time.Millisecond).String() + " to first 200"
		x.Lost = "0"
		med, fast, n := latencies503(down)
		x.Notes = fmt.Sprintf("store down %v; every 503 within %v, none sets a cookie; 503 latency: median %v, %d of %d within 100 ms (failing fast after the first ones)",
			p().downFor, tl.max503.Round(100*time.Millisecond), med.Round(time.Microsecond), fast, n)
	})
}

// documentPath is the only kind of document the server may write: named by
// the SHA-256 of a session id.
var documentPath = regexp.MustCompile(`^sessions/[0-9a-f]{64}$`)

// checkDocuments fails the test unless every document of project is
// sessions/SHA256(ID) for an id in issued (the ids the server handed out),
// and every issued id has its document.
func checkDocuments(t testing.TB, host, project string, issued map[string]bool) {
	t.Helper()
	ctx := testContext(t, time.Minute)
	docs, err := emulator.Documents(ctx, host, project)
	if err != nil {
		t.Fatal(err)
	}
	byHash := map[string]string{}
	for id := range issued {
		byHash[docID(id)] = id
	}
	seen := map[string]bool{}
	for _, d := range docs {
		hash, _ := strings.CutPrefix(d, "sessions/")
		id, ok := byHash[hash]
		if !ok || !documentPath.MatchString(d) {
			t.Errorf("document %q: want only sessions/<id issued by the server>", d)
			continue
		}
		seen[id] = true
	}
	for id := range issued {
		if !seen[id] {
			t.Errorf("session %s was issued but has no document", id)
		}
	}
}

// latencies503 returns the median latency of the 503s among rs, how many
// came within 100 ms, and how many there were.
func latencies503(rs []result) (median time.Duration, fast, n int) {
	var ds []time.Duration
	for _, r := range rs {
		if r.Status == http.StatusServiceUnavailable {
			ds = append(ds, r.Latency())
			if r.Latency() <= 100*time.Millisecond {
				fast++
			}
		}
	}
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2], fast, len(ds)
}
