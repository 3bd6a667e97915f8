package reliability

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

// cookieName is the greeter's session cookie on plain HTTP.
const cookieName = greeterdrive.PlainCookieName

// sessionID matches an id the server issues: a lower-case UUID.
var sessionID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// result is the outcome of one request.
type result = greeterdrive.Result

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// newClient returns an HTTP client for n concurrent workers whose timeout
// is the request deadline plus the margin: a request without an answer by
// then hangs.
func newClient(n int) *http.Client {
	return &http.Client{
		Timeout: deadline + margin,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: n,
			DisableCompression:  true,
		},
		// The greeter never redirects; a redirect would be a finding.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkSession flags a 200 whose session is not a well-formed id.
func checkSession(r *result) {
	if r.Status == http.StatusOK && r.Err == nil && !sessionID.MatchString(r.Got) {
		r.Err = fmt.Errorf("200 without a well-formed session cookie (got %q)", r.Got)
	}
}

// visit sends GET / to base with the session cookie id ("" for none).
func visit(ctx context.Context, client *http.Client, base, id string) result {
	r := greeterdrive.Visit(ctx, client, base+"/", id)
	checkSession(&r)
	return r
}

// worker is one client of a load: it sends its cookie (none at first if
// empty) and, if adopt, takes the cookie each response sets.
type worker = greeterdrive.Visitor

// load is a set of workers sending requests back to back until stopped.
type load struct {
	*greeterdrive.Load
	client *http.Client
}

// startLoad starts workers against base. A worker whose request got no
// response pauses 10 ms before the next (a refused connection answers at
// once); with quitOnError it stops instead.
func startLoad(base string, workers []worker, quitOnError bool) *load {
	client := newClient(len(workers))
	return &load{
		Load: greeterdrive.StartLoad(context.Background(), client, workers, greeterdrive.LoadOptions{
			URL:         func(int, int) string { return base + "/" },
			QuitOnError: quitOnError,
			Check:       checkSession,
		}),
		client: client,
	}
}

// finish stops the load, waits for the requests in flight (each ends
// within the client timeout) and returns every result.
func (l *load) finish() []result {
	results := l.Stop()
	l.client.CloseIdleConnections()
	return results
}

// awaitRecovery waits, at most limit, until each of the load's n clients has
// had a 200 for a request sent after since, and returns when the first of
// those answers came.
func (l *load) awaitRecovery(since time.Time, n int, limit time.Duration) (firstOK time.Time, err error) {
	err = poll(limit, 50*time.Millisecond, func() (bool, error) {
		recovered := map[int]bool{}
		for _, r := range l.Results() {
			if r.Status == http.StatusOK && r.Err == nil && r.Start.After(since) {
				recovered[r.Visitor] = true
				if firstOK.IsZero() || r.End.Before(firstOK) {
					firstOK = r.End
				}
			}
		}
		return len(recovered) == n, nil
	})
	return firstOK, err
}

// workers returns n workers, all on cookie (a shared session) or, with
// cookie "", each on a session of its own made by its first request.
func workers(n int, cookie string) []worker { return greeterdrive.Visitors(n, cookie) }

// tally sums up results.
type tally struct {
	requests    int
	ok          int // 200 with a well-formed page and cookie
	unavailable int // 503
	other       int // any other status, or a malformed 200
	transport   int // no response, hangs not included
	hangs       int
	maxLatency  time.Duration
	max503      time.Duration       // the slowest 503
	views       map[string][]int64  // per session: the counts its 200s showed
	failures    map[string]int      // per session sent: requests without a 200
	examples    []string            // a few failures, for the log
	statuses    map[int]int         // by status
	firstOK     map[string]struct{} // sessions created by the load
}

func count(results []result) tally {
	t := tally{views: map[string][]int64{}, failures: map[string]int{}, statuses: map[int]int{}, firstOK: map[string]struct{}{}}
	for _, r := range results {
		t.requests++
		t.maxLatency = max(t.maxLatency, r.Latency())
		t.statuses[r.Status]++
		bad := true
		switch {
		case r.Hang:
			t.hangs++
		case r.Status == 0:
			t.transport++
		case r.Status == http.StatusOK && r.Err == nil:
			t.ok++
			t.views[r.Got] = append(t.views[r.Got], r.Views)
			if r.Views == 1 {
				t.firstOK[r.Got] = struct{}{}
			}
			bad = false
		case r.Status == http.StatusServiceUnavailable:
			t.unavailable++
			t.max503 = max(t.max503, r.Latency())
		default:
			t.other++
		}
		if bad {
			t.failures[r.Sent]++
			if len(t.examples) < 5 && !(r.Status == http.StatusServiceUnavailable && r.Err == nil) {
				t.examples = append(t.examples, r.String())
			}
		}
	}
	return t
}

func (t tally) failed() int { return t.requests - t.ok }

func (t tally) String() string {
	return fmt.Sprintf("%d requests: %d × 200, %d × 503, %d other, %d without response, %d hung; slowest %v",
		t.requests, t.ok, t.unavailable, t.other, t.transport, t.hangs, t.maxLatency.Round(time.Millisecond))
}

// lostCheck compares the views stored for each session with what the
// responses showed. For each session, the 200s must show distinct counts,
// none above the stored count, and the stored count may exceed the number
// of 200s only by requests of that session that failed (a failed request's
// commit may have landed: its outcome is unknown, never a lost view).
// It returns the number of lost views (0 when all is well), the number of
// stored views no 200 acknowledged, and a description of the first
// problems.
func lostCheck(stored map[string]int64, t tally) (lost, unacknowledged int, problems []string) {
	for id, seen := range t.views {
		s, ok := stored[id]
		if !ok {
			lost += len(seen)
			problems = append(problems, fmt.Sprintf("session %s: %d views acknowledged, no document", id, len(seen)))
			continue
		}
		sorted := slices.Clone(seen)
		slices.Sort(sorted)
		if d := len(sorted) - len(slices.Compact(slices.Clone(sorted))); d > 0 {
			lost += d
			problems = append(problems, fmt.Sprintf("session %s: %d counts shown twice (a lost update)", id, d))
		}
		n := int64(len(seen))
		if s < n {
			lost += int(n - s)
			problems = append(problems, fmt.Sprintf("session %s: %d views acknowledged, %d stored", id, n, s))
		}
		if top := sorted[len(sorted)-1]; top > s {
			problems = append(problems, fmt.Sprintf("session %s: a response showed %d views, %d stored", id, top, s))
		}
		if extra := s - n; extra > 0 {
			unacknowledged += int(extra)
			if extra > int64(t.failures[id]) {
				problems = append(problems, fmt.Sprintf("session %s: %d views stored, %d acknowledged, only %d requests failed", id, s, n, t.failures[id]))
			}
		}
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("... and %d more", len(problems)-5))
	}
	return lost, unacknowledged, problems
}

// storedViews reads the view count of each session in ids from the
// emulator at host.
func storedViews(t testing.TB, host, project string, ids []string) map[string]int64 {
	t.Helper()
	client := emulator.NewClientAt(t, host, project)
	ctx := testContext(t, 2*time.Minute)
	out := make(map[string]int64, len(ids))
	for chunk := range slices.Chunk(ids, 200) {
		refs := make([]*firestore.DocumentRef, len(chunk))
		for i, id := range chunk {
			refs[i] = client.Collection("sessions").Doc(docID(id))
		}
		snaps, err := client.GetAll(ctx, refs)
		if err != nil {
			t.Fatalf("reading the stored sessions: %v", err)
		}
		for i, s := range snaps {
			if !s.Exists() {
				continue
			}
			v, ok := s.Data()["views"].(int64)
			if !ok {
				t.Fatalf("session %s: views %#v", chunk[i], s.Data()["views"])
			}
			out[chunk[i]] = v
		}
	}
	return out
}

// docID returns the name of session id's document.
func docID(id string) string { return sessions.Handle(id) }

// sessionsOf returns the sessions of a tally, sorted.
func sessionsOf(t tally) []string {
	ids := make([]string, 0, len(t.views))
	for id := range t.views {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// newSession makes a session with one request and returns its id.
func newSession(t testing.TB, base string) string {
	t.Helper()
	client := newClient(1)
	defer client.CloseIdleConnections()
	r := visit(context.Background(), client, base, "")
	if r.Status != http.StatusOK || r.Err != nil || r.Views != 1 {
		t.Fatalf("making a session: %v", r)
	}
	return r.Got
}

// checkClean fails the test for every request that got neither a 200 nor
// a clean 503 within the deadline plus the margin.
func checkClean(t testing.TB, what string, tl tally) {
	t.Helper()
	if tl.hangs > 0 || tl.transport > 0 || tl.other > 0 {
		t.Errorf("%s: %v; want only 200s and 503s; for example:\n%s", what, tl, joinLines(tl.examples))
	}
	if tl.max503 > deadline+margin {
		t.Errorf("%s: a 503 took %v, want within the deadline %v (+%v margin)", what, tl.max503.Round(time.Millisecond), deadline, margin)
	}
}

func joinLines(lines []string) string {
	s := ""
	for _, l := range lines {
		s += "  " + l + "\n"
	}
	return s
}
