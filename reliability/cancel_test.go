package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// promptLimit is how soon the next request of a session must be served
// after a storm of cancelled ones: well under the emulator's 2 s lock
// timeout, which a transaction left open would cost it.
const promptLimit = time.Second

// Case 4: clients give up mid-flight (timeouts of a few milliseconds) on a
// hot session. Nothing stays locked or queued: the next request of the
// session is served promptly, and the stored count is the one it shows.
func TestClientGivesUp(t *testing.T) {
	emulator.Require(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) { clientGivesUp(t, tg) })
	}
}

func clientGivesUp(t *testing.T, tg target) {
	x := rep.row(t, "4. Client gives up", tg.name)
	host, project := emulator.Require(t), emulator.ProjectID(t)
	srv := tg.start(t, host, project)
	probe := newClient(1)
	defer probe.CloseIdleConnections()
	created := visit(context.Background(), probe, srv.base, "")
	hot := created.Got
	if created.Status != http.StatusOK || hot == "" {
		t.Fatalf("making the hot session: %v", created)
	}

	// The cancellations are spread over a request's whole life: from 1 ms
	// to twice the usual latency of a view of the session, so that some
	// requests are cut off while they wait for their batch, some in their
	// transaction, some while their answer is on its way.
	var lat []time.Duration
	var warm []result
	for range 9 {
		r := visit(context.Background(), probe, srv.base, hot)
		if r.Status != http.StatusOK {
			t.Fatalf("warming up: %v", r)
		}
		warm = append(warm, r)
		lat = append(lat, r.Latency())
	}
	slices.Sort(lat)
	spread := max(10*time.Millisecond, 2*lat[len(lat)/2])
	t.Logf("usual latency %v: cancelling after 1 ms to %v", lat[len(lat)/2].Round(time.Microsecond), spread.Round(time.Microsecond))

	// A few clients use the session normally all along.
	steady := startLoad(srv.base, workers(4, hot), false)

	const parallel = 32
	storm := newClient(parallel)
	defer storm.CloseIdleConnections()
	var cancelled, answered int
	var stormResults, probes []result
	var worst time.Duration
	for round := range p().cancelRounds {
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, parallel)
		for range p().cancelPerRound {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond+rand.N(spread))
				defer cancel()
				r := visit(ctx, storm, srv.base, hot)
				mu.Lock()
				defer mu.Unlock()
				stormResults = append(stormResults, r)
				if r.Status == 0 {
					cancelled++
				} else {
					answered++
				}
			}()
		}
		wg.Wait()
		// The next request of the session.
		r := visit(context.Background(), probe, srv.base, hot)
		probes = append(probes, r)
		worst = max(worst, r.Latency())
		if r.Status != http.StatusOK || r.Err != nil || r.Got != hot {
			t.Errorf("round %d: the next request: %v; want a 200 of session %s", round, r, hot)
		} else if r.Latency() > promptLimit {
			t.Errorf("round %d: the next request took %v, want under %v: something stayed locked or queued", round, r.Latency().Round(time.Millisecond), promptLimit)
		}
	}
	steadyResults := steady.finish()
	ts := count(steadyResults)
	t.Logf("%d requests cancelled by their clients, %d answered in time; the next request took at most %v", cancelled, answered, worst.Round(time.Millisecond))
	t.Logf("steady clients meanwhile: %v", ts)
	if ts.failed() > 0 {
		t.Errorf("steady clients: %v; want only 200s; for example:\n%s", ts, joinLines(ts.examples))
	}
	if cancelled == 0 {
		t.Errorf("no request was cancelled: the storm tested nothing")
	}

	// Once all is quiet, one more view: the stored count is the one it
	// shows (no transaction of a cancelled request commits later).
	last := visit(context.Background(), probe, srv.base, hot)
	stored := storedViews(t, host, project, []string{hot})[hot]
	if last.Status != http.StatusOK || last.Views != stored {
		t.Errorf("last view: %v; stored views %d", last, stored)
	}
	srv.checkNoPanic(t)

	// No view lost: the counts the 200s showed are distinct and stored (a
	// cancelled request may or may not have counted its view).
	all := count(slices.Concat(steadyResults, stormResults, probes, warm, []result{created, last}))
	lost, unack, problems := lostCheck(map[string]int64{hot: stored}, all)
	if lost > 0 || len(problems) > 0 {
		t.Errorf("%d views lost:\n%s", lost, joinLines(problems))
	}
	x.set(all)
	x.update(func(x *row) {
		x.Other -= cancelled // cancelled on purpose
		x.Lost = fmt.Sprint(lost)
		x.Notes = fmt.Sprintf("%d requests cancelled after 1 ms–%v (%d of their views stored), %d answered in time, %d rounds, 4 steady clients; next request served in ≤ %v (limit %v)",
			cancelled, spread.Round(time.Millisecond), unack, answered, p().cancelRounds, worst.Round(time.Millisecond), promptLimit)
	})
}
