package reliability

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// hangRecoveryLimit bounds the wait for every client to be served again
// once the hung store answers again: a few seconds of gRPC's own recovery,
// but not the minute that a transaction left open locks its document for.
const hangRecoveryLimit = 15 * time.Second

// Case 2b: the store hangs instead of dying: its
// processes are stopped (SIGSTOP), so connections stay open and no answer
// comes, as in a network partition. Every request must still be answered
// within the deadline (a 503), and the service must resume when the store
// does (SIGCONT), with no view lost and, in-process, no goroutine left.
func TestStoreHangs(t *testing.T) {
	emulator.Require(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) { storeHangs(t, tg) })
	}
}

func storeHangs(t *testing.T, tg target) {
	x := rep.row(t, "2b. Store hangs (SIGSTOP)", tg.name)
	proc := startEmulatorAt(t, 0)
	store := newFreezer(t, proc)
	host, project := proc.Host(), emulator.ProjectID(t)
	srv := tg.start(t, host, project)
	before := -1
	if srv.inProc != nil {
		newSession(t, srv.base)
		before = settledGoroutines()
	}

	n := p().dieClients
	l := startLoad(srv.base, append(workers(n/2, ""), workers(n-n/2, newSession(t, srv.base))...), false)
	time.Sleep(p().dieWarm) // load duration
	if err := store.freeze(); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	time.Sleep(p().hangFor) // load duration with the store hung
	if err := store.thaw(); err != nil {
		t.Fatal(err)
	}
	thawed := time.Now()

	firstOK, err := l.awaitRecovery(thawed, n, hangRecoveryLimit)
	allUp := time.Now()
	if err == nil {
		time.Sleep(p().dieAfter) // load duration after recovery
	}
	results := l.finish()
	all := count(results)
	locked := map[string]bool{} // sessions still answering 503 at the end of the wait
	if err != nil {
		for _, r := range results {
			if r.Start.After(thawed.Add(hangRecoveryLimit-deadline)) && r.Status == http.StatusServiceUnavailable {
				locked[r.Sent] = true
			}
		}
		t.Errorf("not every client got a 200 within %v of the thaw: %d sessions still answer 503; "+
			"a transaction left open while the store hung (its rollback timed out) keeps its session locked for ~60 s", hangRecoveryLimit, len(locked))
	}

	var hung []result
	var during, post []result
	for _, r := range results {
		if r.End.After(frozen) && r.Start.Before(thawed) {
			during = append(during, r)
		}
		if r.Start.After(allUp) {
			post = append(post, r)
		}
		if r.Hang || (r.Status == http.StatusServiceUnavailable && r.Latency() > deadline+margin) {
			hung = append(hung, r)
		}
	}
	tDuring, tPost := count(during), count(post)
	t.Logf("store hung %v; first 200 %v after SIGCONT, every client served again %v after it",
		thawed.Sub(frozen).Round(time.Millisecond), firstOK.Sub(thawed).Round(time.Millisecond), allUp.Sub(thawed).Round(time.Millisecond))
	t.Logf("while the store was hung: %v", tDuring)
	t.Logf("after recovery: %v", tPost)
	for i, r := range hung {
		if i == 5 {
			break
		}
		t.Logf("over the deadline: %v", r)
	}
	checkClean(t, "store hung", all)
	if err == nil && (tPost.failed() > 0 || tPost.requests == 0) {
		t.Errorf("after every client recovered: %v; want only 200s", tPost)
	}
	srv.checkNoPanic(t)

	goroutines := "n/a (separate process)"
	if before >= 0 {
		var after int
		err := poll(30*time.Second, 100*time.Millisecond, func() (bool, error) {
			after = runtime.NumGoroutine()
			return after <= before+goroutineSlack, nil
		})
		goroutines = fmt.Sprintf("%d → %d", before, after)
		if err != nil {
			t.Errorf("goroutines: %d before the load, still %d 30 s after it (a leak):\n%s", before, after, goroutineDump())
		}
	}
	stored := storedViews(t, host, project, sessionsOf(all))
	lost, unack, problems := lostCheck(stored, all)
	if lost > 0 || len(problems) > 0 {
		t.Errorf("%d views lost:\n%s", lost, joinLines(problems))
	}

	x.set(all)
	x.update(func(x *row) {
		x.Lost = fmt.Sprint(lost)
		x.Goroutines = goroutines
		x.Recovery = "no 200 within " + hangRecoveryLimit.String() + " of SIGCONT"
		if !firstOK.IsZero() {
			x.Recovery = fmt.Sprintf("%v to first 200 after SIGCONT", max(0, firstOK.Sub(thawed)).Round(10*time.Millisecond))
		}
		if err == nil {
			x.Recovery += fmt.Sprintf(", %v to all %d clients", allUp.Sub(thawed).Round(10*time.Millisecond), n)
		} else {
			x.Recovery += fmt.Sprintf("; %d of %d sessions still 503 after %v", len(locked), len(all.views), hangRecoveryLimit)
		}
		x.Notes = fmt.Sprintf("%d clients (half on one session); store hung %v: %d × 503, slowest answer %v, %d answered after deadline+%v or never; %d unacknowledged",
			n, thawed.Sub(frozen).Round(100*time.Millisecond), tDuring.unavailable, tDuring.maxLatency.Round(100*time.Millisecond), len(hung), margin, unack)
	})
}
