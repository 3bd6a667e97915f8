package reliability

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// goroutineSlack is how many goroutines above the baseline the in-process
// server may keep once the load is over: timers and connections that the
// runtime and gRPC recycle lazily.
const goroutineSlack = 3

// Case 2: the store dies (SIGKILL) under load. Requests in flight and new
// ones get 503 within the deadline, none hangs, nothing panics; once the
// store is restarted, requests succeed again without a restart of the
// server, and (in-process, where it can be counted) the goroutines return
// to their baseline.
func TestStoreDiesUnderLoad(t *testing.T) {
	emulator.Require(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) { storeDies(t, tg) })
	}
}

func storeDies(t *testing.T, tg target) {
	x := rep.row(t, "2. Store dies under load", tg.name)
	proc := startEmulatorAt(t, 0)
	host, project := proc.Host(), emulator.ProjectID(t)
	srv := tg.start(t, host, project)

	before := -1
	if srv.inProc != nil {
		newSession(t, srv.base) // connections and clients warmed up
		before = settledGoroutines()
	}

	n := p().dieClients
	l := startLoad(srv.base, workers(n, ""), false)
	time.Sleep(p().dieWarm) // load duration
	killAt := time.Now()
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("emulator killed in %v", killed.Sub(killAt).Round(time.Millisecond))
	time.Sleep(p().dieDown) // load duration with the store down
	restartAt := time.Now()
	restartEmulator(t, proc)
	up := time.Now()
	t.Logf("emulator restarted in %v", up.Sub(restartAt).Round(time.Millisecond))

	// Every client gets a 200 again.
	firstOK, err := l.awaitRecovery(killed, n, recoveryLimit)
	allUp := time.Now()
	if err == nil {
		time.Sleep(p().dieAfter) // load duration after recovery
	}
	results := l.finish()
	if err != nil {
		x.set(count(results))
		t.Fatalf("not every client got a 200 within %v of the restart: %v", recoveryLimit, err)
	}

	// The phases, by when a request started: before the kill (and ended
	// before it); in flight at the kill; while the store was down; during
	// the restart and recovery; once every client had recovered.
	var pre, inFlight, downR, recov, post []result
	for _, r := range results {
		switch {
		case r.End.Before(killAt):
			pre = append(pre, r)
		case r.Start.Before(killAt):
			inFlight = append(inFlight, r)
		case r.Start.Before(restartAt):
			downR = append(downR, r)
		case r.Start.After(allUp):
			post = append(post, r)
		default:
			recov = append(recov, r)
		}
	}
	all, tPre, tIn, tDown, tRecov, tPost := count(results), count(pre), count(inFlight), count(downR), count(recov), count(post)
	t.Logf("before the kill: %v", tPre)
	t.Logf("in flight at the kill: %v", tIn)
	t.Logf("sent while the store was down: %v", tDown)
	t.Logf("sent during the restart and recovery: %v", tRecov)
	t.Logf("sent once every client had recovered: %v", tPost)
	checkClean(t, "under the kill", all)
	if tPre.failed() > 0 {
		t.Errorf("before the kill: %v; want only 200s", tPre)
	}
	if tDown.requests == 0 {
		t.Errorf("no request was sent while the store was down")
	}
	for _, r := range append(inFlight, downR...) {
		if r.Status == http.StatusOK && r.End.After(killed) && r.End.Before(restartAt) {
			t.Errorf("a 200 while no store ran: %v", r)
			break
		}
	}
	if tPost.failed() > 0 || tPost.requests == 0 {
		t.Errorf("after every client recovered: %v; want only 200s; for example:\n%s", tPost, joinLines(tPost.examples))
	}
	srv.checkNoPanic(t)
	if srv.greeter != nil && srv.greeter.Exited() {
		t.Errorf("greeter exited (code %d)", srv.greeter.Wait(0))
	}

	goroutines := ""
	if before >= 0 {
		var after int
		err := poll(30*time.Second, 100*time.Millisecond, func() (bool, error) {
			after = runtime.NumGoroutine()
			return after <= before+goroutineSlack, nil
		})
		goroutines = fmt.Sprintf("%d → %d", before, after)
		t.Logf("goroutines: %d before the load, %d after", before, after)
		if err != nil {
			t.Errorf("goroutines: %d before the load, still %d 30 s after it (a leak):\n%s", before, after, goroutineDump())
		}
	}

	// No view lost among the sessions made after the restart (the
	// emulator lost the others with its memory).
	var since []result
	for _, r := range results {
		if r.Start.After(restartAt) {
			since = append(since, r)
		}
	}
	tSince := count(since)
	var made []string
	for id := range tSince.firstOK {
		made = append(made, id)
	}
	stored := storedViews(t, host, project, made)
	for id := range tSince.views {
		if _, ok := tSince.firstOK[id]; !ok {
			delete(tSince.views, id) // a session from before the kill
		}
	}
	lost, unack, problems := lostCheck(stored, tSince)
	if lost > 0 || len(problems) > 0 {
		t.Errorf("sessions made after the restart: %d views lost:\n%s", lost, joinLines(problems))
	}

	recovery := firstOK.Sub(up)
	t.Logf("first 200 %v after the restart, every client served again %v after it", recovery.Round(time.Millisecond), allUp.Sub(up).Round(time.Millisecond))
	x.set(all)
	x.update(func(x *row) {
		x.Lost = fmt.Sprint(lost)
		x.Recovery = fmt.Sprintf("%v to first 200, %v to all %d clients", max(0, recovery).Round(10*time.Millisecond), allUp.Sub(up).Round(10*time.Millisecond), n)
		x.Goroutines = goroutines
		if goroutines == "" {
			x.Goroutines = "n/a (separate process)"
		}
		x.Notes = fmt.Sprintf("%d clients; %d in flight at the kill (%d × 503); store down %v: %d × 503, slowest %v; %d unacknowledged commits",
			n, tIn.requests, tIn.unavailable, restartAt.Sub(killAt).Round(100*time.Millisecond), tDown.unavailable, tDown.max503.Round(100*time.Millisecond), unack)
	})
}
