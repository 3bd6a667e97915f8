package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// Case 8: of two greeters sharing a hot session under load, one is killed
// (SIGKILL), with visits in flight between their read and their commit. The
// other goes on serving the session as if nothing happened: every request
// to it gets a 200, none waits for anything the dead one left behind (a
// lock it held would stall the survivor's writes for the emulator's 2 s lock
// timeout, and keep doing so for up to a minute), and no acknowledged view
// is lost.
func TestInstanceKilledMidVisit(t *testing.T) {
	host := emulator.Require(t)
	x := rep.row(t, "8. Instance killed mid-visit", "two greeter binaries")
	project, a, b, created := twoGreetersOnOneSession(t, host)
	hot := created.Got
	half := p().hotClients / 2
	la := startLoad(a.URL, workers(half, hot), false)
	lb := startLoad(b.URL, workers(half, hot), false)
	time.Sleep(p().hotDuration / 2) // load duration before the kill
	killed := time.Now()
	a.Kill()                        // SIGKILL, and wait until it has exited
	time.Sleep(p().hotDuration / 2) // load duration after the kill
	ra, rb := la.finish(), lb.finish()

	survivor := count(rb)
	t.Logf("killed: %v", count(ra))
	t.Logf("survivor: %v", survivor)
	if survivor.failed() > 0 {
		t.Errorf("survivor: %v; want only 200s; for example:\n%s", survivor, joinLines(survivor.examples))
	}
	var slowestAfter time.Duration
	after := 0
	for _, r := range rb {
		if r.Start.After(killed) {
			after++
			slowestAfter = max(slowestAfter, r.Latency())
		}
	}
	if after == 0 {
		t.Error("the survivor served nothing after the kill")
	}
	if slowestAfter >= promptLimit {
		t.Errorf("survivor after the kill: slowest request %v, want under %v: something the killed greeter left held it", slowestAfter.Round(time.Millisecond), promptLimit)
	}
	all := count(append(append(ra, rb...), created))
	lost, unack := checkViews(t, host, project, all, true)
	b.checkNoPanic(t)
	x.set(all)
	x.update(func(x *row) {
		x.Lost = fmt.Sprint(lost)
		x.Notes = fmt.Sprintf("%d + %d clients on one session, one greeter killed after %v; the survivor: %d × 200, %d failed, %d requests after the kill, the slowest in %v; %d unacknowledged (in flight at the killed greeter)",
			half, half, p().hotDuration/2, survivor.ok, survivor.failed(), after, slowestAfter.Round(time.Millisecond), unack)
	})
}
