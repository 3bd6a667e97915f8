package sessions

import (
	"net/http"
	"testing"
	"time"
)

// An Uncounted route reads the session: on a fleet, one read and no write
// a request, whichever instance serves it; the view count stays that of
// the last page.
func TestUncountedRouteReadsOnce(t *testing.T) {
	type instance struct {
		page, api http.Handler
		rpcs      *rpcCounter
	}
	var fleet []instance
	ms, counters := countedFleet(t, 3)
	for i, m := range ms {
		fleet = append(fleet, instance{m.Middleware(greet), m.With(Uncounted()).Middleware(greet), counters[i]})
	}
	v := &visitor{t: t, h: fleet[0].page}
	v.get("/")
	v.get("/")
	const n = 30
	for i := range n {
		in := fleet[i%len(fleet)]
		for _, other := range fleet {
			other.rpcs.take()
		}
		v.h = in.api
		res := v.get("/")
		if res.code != http.StatusOK || views(t, res.body) != 2 || res.cookie != nil {
			t.Fatalf("request %d: %d %q, cookie %v; want the session at view 2, no cookie", i+1, res.code, res.body, res.cookie)
		}
		calls, k := in.rpcs.take()
		if k != 1 || calls["BatchGetDocuments"] != 1 {
			t.Errorf("request %d: %d calls %v, want one read and no write", i+1, k, calls)
		}
	}
	// A page counts on from the last counted view.
	v.h = fleet[1].page
	if res := v.get("/"); views(t, res.body) != 3 {
		t.Errorf("page after the API requests: %q, want view 3", res.body)
	}
}

// An Uncounted route keeps the promises of a view: it never serves an
// ended session, it sees what other instances stored, and it keeps the
// session alive as a view does.
func TestUncountedRouteKeepsPromises(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		clock := newTestClock()
		const idle = 10 * time.Minute
		ms := managers(t, stores, Config{Lifetime: Lifetime{Idle: idle}, Clock: clock.now})
		pageA := ms[0].Middleware(http.HandlerFunc(scenPage))
		apiB := ms[1].With(Uncounted()).Middleware(http.HandlerFunc(scenPage))
		v := &visitor{t: t, h: pageA}
		v.get("/set?k=user&v=ada")
		id := v.id
		if p := parsePage(t, do(t, apiB, http.MethodGet, "/", cookieOf(id))); p.user != "ada" || p.isNew {
			t.Errorf("the other instance's uncounted request: %+v, want the session with user ada", p)
		}
		// Used every 9 minutes on the uncounted route only, it lives on.
		for range 3 {
			clock.add(9 * time.Minute)
			if p := parsePage(t, do(t, apiB, http.MethodGet, "/", cookieOf(id))); p.isNew || p.user != "ada" {
				t.Fatalf("uncounted request 9 minutes after the last: %+v, want the same session", p)
			}
		}
		// Idle past its timeout, it has ended for every route.
		clock.add(idle + time.Second)
		if p := parsePage(t, do(t, apiB, http.MethodGet, "/", cookieOf(id))); !p.isNew {
			t.Errorf("uncounted request after the idle timeout: %+v, want a new session", p)
		}
		if p := parsePage(t, do(t, pageA, http.MethodGet, "/", cookieOf(id))); !p.isNew || p.user != "" {
			t.Errorf("page after the idle timeout: %+v, want a new session", p)
		}
	})
}
