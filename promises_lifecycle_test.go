package sessions

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of the promises about how sessions end: by their lifetime, by
// Destroy, by the cap of sessions per owner, and what the outage breaker
// lets through. See promises_test.go for the helpers.

// SetLifetime must not revive a session that has ended: a session loaded
// before another instance shortened its lifetime, and changed after that
// lifetime ran out, must not come back.
func TestSetLifetimeDoesNotReviveEndedSession(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		ctx := context.Background()
		clock := newTestClock()
		ms := managers(t, stores, Config{Clock: clock.now})
		hs := handlers(ms, promisePage)
		id := newVisitorID(t, hs[0], "/")
		held, err := ms[0].Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		mustCall(t, hs[1], "/max?d=1h", id)
		clock.add(2 * time.Hour) // past the new Max
		if err := held.SetLifetime(ctx, Lifetime{Idle: time.Hour}); err == nil {
			t.Errorf("SetLifetime of a session whose lifetime another instance ended: nil, want an error")
		}
		if err := ms[0].Save(ctx, held); err != nil {
			t.Logf("Save: %v", err)
		}
		for i, h := range hs {
			if served(t, h, id) {
				t.Errorf("instance %d serves the session after its lifetime ended, want a new session", i)
			}
		}
	})
}

// Destroy after a concurrent Renew must end the session: either Destroy
// fails, or neither the old id nor the new one is served after it.
func TestDestroyAfterConcurrentRenewEndsBothIDs(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		ctx := context.Background()
		ms := managers(t, stores, Config{})
		hs := handlers(ms, promisePage)
		id := newVisitorID(t, hs[0], "/set?k=user&v=ada")
		held, err := ms[0].Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		_, res := mustCall(t, hs[1], "/renew", id)
		renewed := idAfter(id, res)
		if renewed == id {
			t.Fatal("Renew gave no new id")
		}
		if err := held.Destroy(ctx); err != nil {
			t.Logf("Destroy after another request's Renew: %v", err)
			return
		}
		for name, sid := range map[string]string{"old": id, "renewed": renewed} {
			for i, h := range hs {
				if served(t, h, sid) {
					t.Errorf("Destroy succeeded, but instance %d still serves the %s id", i, name)
				}
			}
		}
	})
}

// A lazy request must not close the outage breaker: it calls no store, so
// it proves nothing about the store, and the requests that need the store
// must go on failing fast.
func TestLazyRequestDoesNotCloseBreaker(t *testing.T) {
	st := &hookStore{Store: NewMemoryStore()}
	clock := newTestClock()
	var mu sync.Mutex
	var handled []error
	m := newManager(t, st, Config{Clock: clock.now, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		mu.Lock()
		handled = append(handled, err)
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}})
	// errs returns the errors handled since the last call.
	errs := func() []error {
		mu.Lock()
		defer mu.Unlock()
		out := handled
		handled = nil
		return out
	}
	h := m.Middleware(http.HandlerFunc(promisePage))
	lazy := m.With(Lazy()).Middleware(http.HandlerFunc(promisePage))
	id := newVisitorID(t, h, "/")
	st.down.Store(true)
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatal("10 requests during the outage did not open the breaker")
		}
		do(t, h, http.MethodGet, "/", cookieOf(id))
		if got := errs(); len(got) == 1 && errors.Is(got[0], ErrUnavailable) && strings.Contains(got[0].Error(), "failing fast") {
			break
		}
	}
	clock.add(time.Minute) // past the cool-down
	calls := st.calls.Load()
	res := do(t, lazy, http.MethodGet, "/", "")
	t.Logf("lazy request without a cookie: %d, errors %v", res.code, errs())
	if n := st.calls.Load() - calls; n != 0 {
		t.Fatalf("the lazy request without a cookie made %d store calls, want none", n)
	}
	// The next store call probes the store, and fails: the breaker stays
	// open, and the requests after it fail fast without a store call.
	res = do(t, h, http.MethodGet, "/", cookieOf(id))
	got := errs()
	if n := st.calls.Load() - calls; n != 1 || len(got) != 1 || !errors.Is(got[0], ErrUnavailable) {
		t.Errorf("request with a session cookie after the lazy one: %d, %d store calls, errors %v; want the probe's ErrUnavailable after one store call", res.code, n, got)
	}
	res = do(t, h, http.MethodGet, "/", cookieOf(id))
	got = errs()
	if n := st.calls.Load() - calls; n != 1 || len(got) != 1 || !errors.Is(got[0], ErrUnavailable) {
		t.Errorf("request after the failed probe: %d, %d store calls, errors %v; want ErrUnavailable without a store call", res.code, n-1, got)
	}
}

// listGate is a memory store whose reads of an owner's list of sessions,
// once armed for n, are answered only when n have been made: every one of
// n concurrent logins then checks the cap before any of them is stored.
type listGate struct {
	*MemoryStore
	mu   sync.Mutex
	n    int // listings still to come before the answers go; 0: none held
	open chan struct{}
}

func (g *listGate) arm(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n, g.open = n, make(chan struct{})
}

func (g *listGate) Get(ctx context.Context, key string) (Record, error) {
	rec, err := g.MemoryStore.Get(ctx, key)
	if !strings.HasPrefix(key, "owner-") {
		return rec, err
	}
	g.mu.Lock()
	open := g.open
	if g.n > 0 {
		if g.n--; g.n == 0 {
			close(g.open)
		}
	}
	g.mu.Unlock()
	if open != nil {
		select {
		case <-open:
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
	return rec, err
}

// The cap of sessions per owner must hold when the owner logs in on
// several devices at once, through several instances.
func TestOwnerCapHoldsUnderConcurrentLogins(t *testing.T) {
	const logins, limit = 5, 2
	// run makes the logins on instances of stores; arm is called before
	// they start.
	run := func(t *testing.T, stores []Store, refuse bool, arm func()) {
		var bar atomic.Pointer[barrier]
		page := func(w http.ResponseWriter, r *http.Request) {
			if b := bar.Load(); b != nil && r.URL.Path == "/login" {
				b.arrived.Done()
				<-b.open
			}
			promisePage(w, r)
		}
		ms := managers(t, stores, Config{MaxOwnerSessions: limit, RefuseExtraLogins: refuse})
		hs := handlers(ms, page)
		ids := make([]string, logins)
		for i := range ids {
			ids[i] = newVisitorID(t, hs[i%len(hs)], "/")
		}
		b := &barrier{open: make(chan struct{})}
		b.arrived.Add(logins)
		bar.Store(b)
		arm()
		answers := make([]response, logins)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { answers[i] = do(t, hs[i%len(hs)], http.MethodGet, "/login?o=alice", cookieOf(ids[i])) })
		}
		b.arrived.Wait()
		close(b.open)
		wg.Wait()
		bar.Store(nil)
		succeeded, live := 0, 0
		for i, res := range answers {
			p, err := decodePage(res)
			switch {
			case err != nil:
				t.Errorf("login %d: %v", i, err)
				continue
			case res.code == http.StatusOK:
				succeeded++
			case !refuse:
				t.Errorf("login %d: %d %q, want 200: the cap ends other sessions of the owner", i, res.code, res.body)
				continue
			case !slices.Contains(p.Is, "ErrTooManySessions"):
				t.Errorf("login %d refused with %q, want ErrTooManySessions", i, p.Err)
				continue
			default:
				continue
			}
			if q, _ := mustCall(t, hs[(i+1)%len(hs)], "/", idAfter(ids[i], res)); !q.New && q.Owner == "alice" {
				live++
			} else if refuse {
				t.Errorf("login %d succeeded, but its session is not served", i)
			}
		}
		if refuse && succeeded != limit {
			t.Errorf("%d of %d concurrent logins succeeded with RefuseExtraLogins and a cap of %d, want %d", succeeded, logins, limit, limit)
		}
		if live > limit {
			t.Errorf("%d sessions of the owner are served after %d concurrent logins, want at most the cap of %d", live, logins, limit)
		}
		if list, err := ms[0].OwnerSessions(context.Background(), "alice"); err != nil || len(list) > limit {
			t.Errorf("OwnerSessions after %d concurrent logins: %d (%v), want at most the cap of %d", logins, len(list), err, limit)
		}
	}
	for name, refuse := range map[string]bool{"end": false, "refuse": true} {
		t.Run(name, func(t *testing.T) {
			t.Run("memory", func(t *testing.T) {
				g := &listGate{MemoryStore: NewMemoryStore()}
				run(t, slices.Repeat([]Store{g}, 3), refuse, func() { g.arm(logins) })
			})
			t.Run("firestore", func(t *testing.T) {
				first, project := firestoreStore(t, FirestoreConfig{})
				stores := []Store{first, openStore(t, project, FirestoreConfig{}), openStore(t, project, FirestoreConfig{})}
				run(t, stores, refuse, func() {})
			})
		})
	}
}

// The cap must end the owner's least recently used session, by its last
// view, not the one whose expiry comes first: a long-lived session left
// unused for weeks goes before one used a minute ago.
func TestOwnerCapEndsLeastRecentlyViewed(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		clock := newTestClock()
		hs := handlers(managers(t, stores, Config{MaxOwnerSessions: 2, Clock: clock.now}), promisePage)
		login := func(h http.Handler, path string) string {
			t.Helper()
			id := newVisitorID(t, h, "/")
			_, res := mustCall(t, h, path, id)
			return idAfter(id, res)
		}
		a := login(hs[0], "/login?o=alice&idle=720h&max=2160h") // remember me: 30 days idle
		clock.add(14 * 24 * time.Hour)
		b := login(hs[1], "/login?o=alice")
		clock.add(time.Minute)
		c := login(hs[0], "/login?o=alice")
		if !served(t, hs[1], b) {
			t.Errorf("device B, used a minute ago, was ended by the third login")
		}
		if served(t, hs[1], a) {
			t.Errorf("device A, unused for two weeks, is still served after the third login; want it ended as the least recently used")
		}
		if !served(t, hs[1], c) {
			t.Errorf("device C, which just logged in, is not served")
		}
	})
}
