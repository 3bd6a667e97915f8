package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// Case 7: a soak of many requests over many sessions, each request on a
// session drawn at random, with concurrent clients. The test knows how many
// views each session got: every stored count must be exactly that.
func TestSoak(t *testing.T) {
	x := rep.row(t, "7. Soak", "greeter binary")
	host, project := emulator.Require(t), emulator.ProjectID(t)
	g := runGreeter(t, host, project)
	total, nSessions, nClients := p().soakRequests, p().soakSessions, p().soakClients
	client := newClient(nClients)
	defer client.CloseIdleConnections()

	var (
		mu      sync.Mutex
		results = make([]result, 0, total)
		ids     = make([]string, nSessions)
	)
	// run sends requests number from to total-1 with nClients clients;
	// request i is on the session of pick(i).
	run := func(from, to int, pick func(i int) string) {
		var next atomic.Int64
		next.Store(int64(from))
		var wg sync.WaitGroup
		for w := range nClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= to {
						return
					}
					r := visit(context.Background(), client, g.URL, pick(i))
					r.Visitor = w
					mu.Lock()
					results = append(results, r)
					if i < nSessions {
						ids[i] = r.Got
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	start := time.Now()
	// The first requests make the sessions; the others visit one of them
	// each, drawn at random.
	run(0, nSessions, func(int) string { return "" })
	for i, id := range ids {
		if id == "" {
			t.Fatalf("making session %d failed: %v", i, count(results))
		}
	}
	run(nSessions, total, func(int) string { return ids[rand.IntN(nSessions)] })
	elapsed := time.Since(start)
	tl := count(results)
	t.Logf("%v in %v (%.0f requests/s)", tl, elapsed.Round(time.Millisecond), float64(tl.requests)/elapsed.Seconds())
	if tl.failed() > 0 {
		t.Errorf("%v; want only 200s; for example:\n%s", tl, joinLines(tl.examples))
	}
	if len(tl.views) != nSessions {
		t.Errorf("%d sessions seen, want %d", len(tl.views), nSessions)
	}
	stored := storedViews(t, host, project, sessionsOf(tl))
	exact := 0
	for id, seen := range tl.views {
		if stored[id] == int64(len(seen)) {
			exact++
		}
	}
	lost, unack := checkViews(t, host, project, tl, false)
	if exact != len(tl.views) {
		t.Errorf("%d of %d sessions have exactly the stored count the test expects", exact, len(tl.views))
	}
	g.checkNoPanic(t)

	x.set(tl)
	x.update(func(x *row) {
		x.Lost = fmt.Sprint(lost)
		x.Notes = fmt.Sprintf("%d requests over %d sessions, %d clients, %v (%.0f requests/s); %d/%d stored counts exact, %d unacknowledged",
			tl.requests, nSessions, nClients, elapsed.Round(100*time.Millisecond), float64(tl.requests)/elapsed.Seconds(), exact, len(tl.views), unack)
	})
}
