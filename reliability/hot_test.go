package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// Case 3: one hot session under load, next to clients on sessions of their
// own. In one greeter: no failure at all, no lost view, distinct counts.
// Across two greeters sharing the hot session (their conditional commits
// then conflict, and fall back to reads and atomic increments): no lost
// view, and any failure a clean 503 within the deadline, counted and
// reported.
func TestHotSession(t *testing.T) {
	host := emulator.Require(t)
	t.Run("one greeter", func(t *testing.T) {
		x := rep.row(t, "3. Hot session", "greeter binary")
		project := emulator.ProjectID(t)
		g := runGreeter(t, host, project)
		created := visit(context.Background(), newClient(1), g.URL, "")
		hot := created.Got
		l := startLoad(g.URL, append(workers(p().hotClients, hot), workers(p().ownClients, "")...), false)
		time.Sleep(p().hotDuration) // load duration
		results := append(l.finish(), created)
		tl := count(results)
		t.Logf("%v", tl)
		if tl.failed() > 0 {
			t.Errorf("%v; want only 200s; for example:\n%s", tl, joinLines(tl.examples))
		}
		lost, unack := checkViews(t, host, project, tl, false)
		g.checkNoPanic(t)
		x.set(tl)
		x.update(func(x *row) {
			x.Lost = fmt.Sprint(lost)
			x.Notes = fmt.Sprintf("%d clients on the hot session + %d on their own, %v; hot session: %d views, counts distinct; slowest %v; %d unacknowledged",
				p().hotClients, p().ownClients, p().hotDuration, len(tl.views[hot]), tl.maxLatency.Round(time.Millisecond), unack)
		})
	})

	t.Run("two greeters", func(t *testing.T) {
		x := rep.row(t, "3. Hot session", "two greeter binaries")
		project, a, b, created := twoGreetersOnOneSession(t, host)
		hot := created.Got
		la := startLoad(a.URL, append(workers(p().hotClients/2, hot), workers(p().ownClients/2, "")...), false)
		lb := startLoad(b.URL, append(workers(p().hotClients-p().hotClients/2, hot), workers(p().ownClients-p().ownClients/2, "")...), false)
		time.Sleep(p().hotDuration) // load duration
		ra, rb := la.finish(), lb.finish()
		results := append(append(ra, rb...), created)
		tl := count(results)
		t.Logf("A: %v", count(ra))
		t.Logf("B: %v", count(rb))
		checkClean(t, "two greeters", tl)
		lost, unack := checkViews(t, host, project, tl, true)
		a.checkNoPanic(t)
		b.checkNoPanic(t)
		x.set(tl)
		x.update(func(x *row) {
			x.Lost = fmt.Sprint(lost)
			x.Notes = fmt.Sprintf("%d + %d clients on the hot session, %d + %d on their own, %v; hot session: %d × 200, %d failed%s; slowest 200 %v; %d unacknowledged",
				p().hotClients/2, p().hotClients-p().hotClients/2, p().ownClients/2, p().ownClients-p().ownClients/2, p().hotDuration,
				len(tl.views[hot]), tl.failures[hot], slowest503(tl), slowestOK(results).Round(time.Millisecond), unack)
		})
	})
}

// twoGreetersOnOneSession starts two greeters on one new project of the
// emulator at host, as two instances of an app, and creates a session
// through the first.
func twoGreetersOnOneSession(t *testing.T, host string) (project string, a, b *greeter, created result) {
	t.Helper()
	project = emulator.ProjectID(t)
	a = runGreeter(t, host, project)
	b = runGreeter(t, host, project)
	created = visit(context.Background(), newClient(1), a.URL, "")
	if created.Got == "" {
		t.Fatalf("no session: %v", created)
	}
	return project, a, b, created
}

// checkViews reads the stored view count of every session of tl and fails
// the test for any lost view; unless failuresAllowed, the stored counts
// must also equal the 200s exactly. It returns the lost and the
// unacknowledged views.
func checkViews(t testing.TB, host, project string, tl tally, failuresAllowed bool) (lost, unack int) {
	t.Helper()
	stored := storedViews(t, host, project, sessionsOf(tl))
	lost, unack, problems := lostCheck(stored, tl)
	if lost > 0 || len(problems) > 0 {
		t.Errorf("%d views lost:\n%s", lost, joinLines(problems))
	}
	if !failuresAllowed && unack > 0 {
		t.Errorf("%d stored views were never acknowledged with a 200", unack)
	}
	return lost, unack
}

// slowestOK returns the latency of the slowest 200.
func slowestOK(results []result) time.Duration {
	var d time.Duration
	for _, r := range results {
		if r.Status == 200 {
			d = max(d, r.Latency())
		}
	}
	return d
}

// slowest503 describes the slowest 503 of tl, if any.
func slowest503(tl tally) string {
	if tl.unavailable == 0 {
		return ""
	}
	return fmt.Sprintf(" (503s, the slowest in %v)", tl.max503.Round(100*time.Millisecond))
}
