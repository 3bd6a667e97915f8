package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// Scenarios of races and lost answers, each of which once ended a session
// too early or too late, lost or repeated a change, or answered 200 for a
// change that was not stored. They run on every store where they apply,
// and on the emulator with several instances (Managers with Firestore
// stores of their own on one database) and injected faults (faults_test.go)
// where they need them.

// eachFleet runs f with n stores that share one database, as n instances
// of an app see it: for the memory store, one store n times; for
// Firestore, n stores of their own (each with its record cache) on one
// emulator project.
func eachFleet(t *testing.T, n int, f func(t *testing.T, stores []Store)) {
	t.Run("memory", func(t *testing.T) { f(t, slices.Repeat([]Store{NewMemoryStore()}, n)) })
	t.Run("firestore", func(t *testing.T) {
		first, project := firestoreStore(t, FirestoreConfig{})
		stores := []Store{first}
		for len(stores) < n {
			stores = append(stores, openStore(t, project, FirestoreConfig{}))
		}
		f(t, stores)
	})
}

// managers returns a Manager per store, all configured by cfg.
func managers(t *testing.T, stores []Store, cfg Config) []*Manager {
	t.Helper()
	ms := make([]*Manager, len(stores))
	for i, st := range stores {
		ms[i] = newManager(t, st, cfg)
	}
	return ms
}

// scenPage shows the session and changes it by path: /set?k=K&v=V,
// /renew, /owner?o=O, /idle?d=D and /max?d=D (SetLifetime). A change that
// fails is answered 500 with its error.
func scenPage(w http.ResponseWriter, r *http.Request) {
	s, _ := FromContext(r.Context())
	d, _ := time.ParseDuration(r.FormValue("d"))
	var err error
	switch r.URL.Path {
	case "/set":
		err = s.Set(r.FormValue("k"), r.FormValue("v"))
	case "/renew":
		err = s.Renew(r.Context())
	case "/owner":
		err = s.SetOwner(r.Context(), r.FormValue("o"))
	case "/idle":
		err = s.SetLifetime(r.Context(), Lifetime{Idle: d})
	case "/max":
		err = s.SetLifetime(r.Context(), Lifetime{Max: d})
	}
	if err != nil {
		http.Error(w, "error: "+err.Error(), http.StatusInternalServerError)
		return
	}
	u, _ := s.GetString("user")
	fmt.Fprintf(w, "views=%d new=%t owner=%q user=%q", s.Views(), s.IsNew(), s.Owner(), u)
}

// page is what scenPage shows.
type page struct {
	views       int
	isNew       bool
	owner, user string
}

func parsePage(t *testing.T, res response) page {
	t.Helper()
	var p page
	if res.code != http.StatusOK {
		t.Fatalf("answer %d %q, want 200", res.code, res.body)
	}
	if _, err := fmt.Sscanf(res.body, "views=%d new=%t owner=%q user=%q", &p.views, &p.isNew, &p.owner, &p.user); err != nil {
		t.Fatalf("page %q: %v", res.body, err)
	}
	return p
}

func cookieOf(id string) string { return DefaultCookieName + "=" + id }

// get sends a request of session id to h and returns the page.
func getPage(t *testing.T, h http.Handler, path, id string) page {
	t.Helper()
	return parsePage(t, do(t, h, http.MethodGet, path, cookieOf(id)))
}

// Scenario 1. A Renew whose Commit is applied but whose answer is lost:
// the visitor keeps the session and its data, under the new id if Renew
// succeeded (and then the old id is worthless), or under the old one.
func TestScenarioRenewWithLostAnswer(t *testing.T) {
	for _, c := range []codes.Code{codes.Unavailable, codes.DeadlineExceeded} {
		t.Run(c.String(), func(t *testing.T) {
			opt, faults := faultyConn(t)
			st, project := firestoreStore(t, FirestoreConfig{}, opt)
			other := openStore(t, project, FirestoreConfig{})
			h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(scenPage))
			elsewhere := newManager(t, other, Config{}).Middleware(http.HandlerFunc(scenPage))
			v := &visitor{t: t, h: h}
			v.get("/set?k=user&v=ada")
			oldID := v.id
			fl := faults.arm(&fault{method: "Commit", match: isRename, err: lost(c)})
			res := v.get("/renew")
			if !fl.hasFired() {
				t.Fatal("Renew sent no Rename Commit")
			}
			t.Logf("Renew with its answer lost (%v): %d %q, id changed: %t", c, res.code, res.body, v.id != oldID)
			switch {
			case res.code == http.StatusOK && v.id != oldID:
				if docs := documents(t, project); len(docs) != 2 || !slices.Contains(docs, docName(v.id)) || !slices.Contains(docs, docName(oldID)) {
					t.Errorf("documents after Renew: %v, want the new id's, and what leads there from the old one", docs)
				}
				if old, err := other.Get(context.Background(), Handle(oldID)); err != nil || len(old.Values) != 0 || old.MovedTo != Handle(v.id) {
					t.Errorf("under the old id after Renew: %+v (%v), want no value, only where the session went", old, err)
				}
				if p := parsePage(t, v.get("/")); p.isNew || p.user != "ada" || p.views != 3 {
					t.Errorf("new id after Renew: %+v, want view 3 of the session with user ada", p)
				}
				for name, h := range map[string]http.Handler{"same instance": h, "other instance": elsewhere} {
					if p := getPage(t, h, "/", oldID); !p.isNew || p.user != "" {
						t.Errorf("old id after a successful Renew, %s: %+v, want a new session", name, p)
					}
				}
			case res.code != http.StatusOK && v.id == oldID:
				if p := parsePage(t, v.get("/")); p.isNew || p.user != "ada" {
					t.Errorf("old id after a failed Renew: %+v, want the session with user ada", p)
				}
			default:
				t.Errorf("Renew answered %d %q and the cookie changed: %t", res.code, res.body, v.id != oldID)
			}
		})
	}
}

// Scenario 2. Instance A serves and caches a session; B shortens its
// lifetime; once the clock passes the new end, neither A (cached) nor C
// (uncached) serves it again.
func TestScenarioShortenedLifetimeEndsCachedSession(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		pass       time.Duration
	}{
		{"idle", "/idle?d=1m", 2 * time.Minute},
		{"max", "/max?d=2h", 2*time.Hour + time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachFleet(t, 3, func(t *testing.T, stores []Store) {
				clock := newTestClock()
				ms := managers(t, stores, Config{Clock: clock.now})
				a, b, c := ms[0].Middleware(http.HandlerFunc(scenPage)), ms[1].Middleware(http.HandlerFunc(scenPage)), ms[2].Middleware(http.HandlerFunc(scenPage))
				v := &visitor{t: t, h: a}
				v.get("/set?k=user&v=ada")
				v.get("/") // A has served it twice, and caches it
				id := v.id
				v.h = b
				if res := v.get(tc.path); res.code != http.StatusOK {
					t.Fatalf("%s on B: %d %q", tc.path, res.code, res.body)
				}
				clock.add(tc.pass)
				v.h = a
				if p := parsePage(t, v.get("/")); !p.isNew || p.user != "" || v.id == id {
					t.Errorf("A after the shortened session ended: %+v, want a new session", p)
				}
				if p := getPage(t, c, "/", id); !p.isNew || p.user != "" {
					t.Errorf("C after the shortened session ended: %+v, want a new session", p)
				}
			})
		})
	}
}

// Scenario 3. A session loaded long ago (as a websocket loop holds it)
// sets its owner after another request slid the expiry: the expiry stays
// slid, so a visitor active at t=20 min is still signed in at t=35 min with
// a 30-minute idle timeout.
func TestScenarioSetOwnerKeepsSlidExpiry(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		ctx := context.Background()
		clock := newTestClock()
		ms := managers(t, stores, Config{Lifetime: Lifetime{Idle: 30 * time.Minute}, Clock: clock.now})
		v := &visitor{t: t, h: ms[1].Middleware(http.HandlerFunc(scenPage))}
		v.get("/") // t=0
		held, err := ms[0].Load(ctx, v.id)
		if err != nil {
			t.Fatal(err)
		}
		clock.add(20 * time.Minute)
		v.get("/") // t=20: slides the expiry to t=50
		slid := storeTime(clock.now().Add(30 * time.Minute))
		if rec, err := stores[0].Get(ctx, Handle(v.id)); err != nil || !rec.Expires.Equal(slid) {
			t.Fatalf("after the view at t=20: expiry %v (%v), want %v", rec.Expires, err, slid)
		}
		if err := held.SetOwner(ctx, "alice"); err != nil {
			t.Fatalf("SetOwner of the session held since t=0: %v", err)
		}
		if err := ms[0].Save(ctx, held); err != nil {
			t.Fatal(err)
		}
		rec, err := stores[0].Get(ctx, Handle(v.id))
		if err != nil || !rec.Expires.Equal(slid) || rec.Owner != "alice" {
			t.Errorf("after SetOwner: expiry %v, owner %q (%v); want %v, alice", rec.Expires, rec.Owner, err, slid)
		}
		clock.add(15 * time.Minute) // t=35
		if p := parsePage(t, v.get("/")); p.isNew || p.owner != "alice" {
			t.Errorf("at t=35: %+v, want the session of alice still live", p)
		}
	})
}

// Scenario 4. A session held since before another request's view and save
// renews: the new id carries that save and counts on from that view.
func TestScenarioRenewKeepsConcurrentWork(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		ctx := context.Background()
		ms := managers(t, stores, Config{})
		hb := ms[1].Middleware(http.HandlerFunc(scenPage))
		v := &visitor{t: t, h: hb}
		v.get("/") // view 1
		oldID := v.id
		held, err := ms[0].Load(ctx, oldID) // view 2
		if err != nil {
			t.Fatal(err)
		}
		if p := parsePage(t, v.get("/set?k=user&v=ada")); p.views != 3 {
			t.Fatalf("concurrent request: %+v, want view 3", p)
		}
		if err := held.Renew(ctx); err != nil {
			t.Fatalf("Renew: %v", err)
		}
		newID := held.ID()
		if err := ms[0].Save(ctx, held); err != nil {
			t.Fatal(err)
		}
		if p := getPage(t, hb, "/", newID); p.isNew || p.user != "ada" || p.views != 4 {
			t.Errorf("renewed session: %+v, want view 4 with user ada (the concurrent save, and no view number twice)", p)
		}
		if p := getPage(t, hb, "/", oldID); !p.isNew {
			t.Errorf("old id after Renew: %+v, want a new session", p)
		}
	})
}

// Scenario 5. "Log out everywhere" (DestroyOwnerSessions queries the
// owner's sessions, then deletes them) while one of them is renewed by
// another instance, right between the query and the deletes: the renewed
// session must be ended too.
func TestScenarioLogOutEverywhereDuringRenew(t *testing.T) {
	// check requires that no device is served a session of alice's any
	// more: those whose last session was hers (ended) get new sessions.
	check := func(t *testing.T, destroyer *Manager, devices []*visitor, wasAlices []bool) {
		t.Helper()
		for i, v := range devices {
			if p := parsePage(t, v.get("/")); p.owner != "" || (wasAlices[i] && !p.isNew) {
				t.Errorf("device %d after log out everywhere: %+v, want a new session", i, p)
			}
		}
		if list, err := destroyer.OwnerSessions(context.Background(), "alice"); err != nil || len(list) != 0 {
			t.Errorf("alice's sessions after log out everywhere: %d (%v), want none", len(list), err)
		}
	}
	t.Run("firestore", func(t *testing.T) {
		opt, faults := faultyConn(t)
		stA, project := firestoreStore(t, FirestoreConfig{}, opt)
		stB := openStore(t, project, FirestoreConfig{})
		ma, mb := newManager(t, stA, Config{}), newManager(t, stB, Config{})
		hb := mb.Middleware(http.HandlerFunc(scenPage))
		devices := []*visitor{{t: t, h: hb}, {t: t, h: hb}}
		for _, v := range devices {
			v.get("/owner?o=alice")
		}
		v := devices[0]
		oldID := v.id
		var renewed response
		// The Renew lands between the read of alice's list and the write
		// that ends her sessions.
		fl := faults.arm(&fault{method: "BatchGetDocuments", after: func() { renewed = v.get("/renew") }})
		n, err := ma.DestroyOwnerSessions(context.Background(), "alice")
		if !fl.hasFired() {
			t.Fatal("DestroyOwnerSessions read nothing")
		}
		if renewed.code != http.StatusOK || v.id == oldID {
			t.Fatalf("Renew between the query and the deletes: %d %q", renewed.code, renewed.body)
		}
		t.Logf("DestroyOwnerSessions: %d, %v", n, err)
		check(t, ma, devices, []bool{true, true})
	})
	t.Run("memory", func(t *testing.T) {
		st := NewMemoryStore()
		ma, mb := newManager(t, st, Config{}), newManager(t, st, Config{})
		hb := mb.Middleware(http.HandlerFunc(scenPage))
		devices := []*visitor{{t: t, h: hb}, {t: t, h: hb}}
		for _, v := range devices {
			v.get("/owner?o=alice")
		}
		// The memory store is atomic: whichever comes first, the Renew or
		// the deletes, the renewed session must not survive as alice's.
		done := make(chan response)
		go func() { done <- do(t, hb, http.MethodGet, "/renew", cookieOf(devices[0].id)) }()
		n, err := ma.DestroyOwnerSessions(context.Background(), "alice")
		renewed := <-done
		if renewed.cookie != nil && renewed.cookie.MaxAge >= 0 {
			devices[0].id = renewed.cookie.Value
		}
		t.Logf("DestroyOwnerSessions: %d, %v; Renew: %q", n, err, renewed.body)
		// A Renew that came after the log-out found the session ended.
		renewedAlices := renewed.code == http.StatusOK && parsePage(t, renewed).owner == "alice"
		check(t, ma, devices, []bool{renewedAlices || renewed.code != http.StatusOK, true})
	})
}

// Scenario 6. Attributes are field-level: of two loads of one session, one
// sets the owner, then the other the lifetime; the owner stays.
func TestScenarioAttributesAreFieldLevel(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		ctx := context.Background()
		ms := managers(t, stores, Config{})
		v := &visitor{t: t, h: ms[0].Middleware(http.HandlerFunc(scenPage))}
		v.get("/")
		s1, err := ms[0].Load(ctx, v.id)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ms[1].Load(ctx, v.id)
		if err != nil {
			t.Fatal(err)
		}
		if err := s1.SetOwner(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := s2.SetLifetime(ctx, Lifetime{Idle: 2 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		for i, s := range []*Session{s1, s2} {
			if err := ms[i].Save(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		rec, err := stores[0].Get(ctx, Handle(v.id))
		if err != nil || rec.Owner != "alice" || rec.Idle != 2*time.Hour {
			t.Errorf("stored: owner %q, idle %v (%v); want alice, 2h", rec.Owner, rec.Idle, err)
		}
		list, err := ms[1].OwnerSessions(ctx, "alice")
		if _, ok := list[Handle(v.id)]; err != nil || len(list) != 1 || !ok {
			t.Errorf("alice's sessions: %+v (%v), want this one", list, err)
		}
		if n, err := ms[1].DestroyOwnerSessions(ctx, "alice"); n != 1 || err != nil {
			t.Errorf("DestroyOwnerSessions: %d, %v; want 1", n, err)
		}
		if p := parsePage(t, v.get("/")); !p.isNew {
			t.Errorf("after DestroyOwnerSessions: %+v, want a new session", p)
		}
	})
}

// Scenario 7. Two requests of one session each Set a value that fits
// alone, but not both: the second, whose handler Sets and answers after
// the first request completed, must be answered with an error, not a 200
// whose change is lost.
func TestScenarioConcurrentSetsPastTheLimit(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		big := strings.Repeat("x", 600_000)
		loaded, firstDone := make(chan struct{}), make(chan struct{})
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			switch r.URL.Path {
			case "/":
				fmt.Fprint(w, "hello")
				return
			case "/second":
				close(loaded)
				<-firstDone
			}
			if err := s.Set(r.FormValue("k"), big); err != nil {
				http.Error(w, "set: "+err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, "stored")
		})
		ms := managers(t, stores, Config{})
		a, b := ms[0].Middleware(page), ms[1].Middleware(page)
		v := &visitor{t: t, h: a}
		v.get("/")
		second := make(chan response)
		go func() { second <- do(t, b, http.MethodGet, "/second?k=b", cookieOf(v.id)) }()
		<-loaded
		first := do(t, a, http.MethodGet, "/first?k=a", cookieOf(v.id))
		close(firstDone)
		last := <-second
		t.Logf("first: %d %q; second: %d %.80q", first.code, first.body, last.code, last.body)
		if first.code != http.StatusOK {
			t.Errorf("first request: %d %q, want 200: its value fits", first.code, first.body)
		}
		if last.code == http.StatusOK {
			t.Errorf("second request answered 200 %q, though its value cannot be stored beside the first's", last.body)
		}
		rec, err := stores[0].Get(context.Background(), Handle(v.id))
		_, hasA := rec.Values["a"]
		_, hasB := rec.Values["b"]
		if err != nil || hasA != (first.code == http.StatusOK) || hasB != (last.code == http.StatusOK) {
			t.Errorf("stored: a %t, b %t (%v); want what was answered 200", hasA, hasB, err)
		}
	})
}

// Scenario 8. Set refuses, with a clear error, the values Firestore
// refuses, at any depth, and nothing of them is stored.
func TestScenarioSetRefusesWhatFirestoreRefuses(t *testing.T) {
	type reservedTag struct {
		X int `firestore:"__x__"`
	}
	type text struct{ S string }
	cases := []struct {
		name string
		v    any
	}{
		{"invalid UTF-8", "\xff"},
		{"invalid UTF-8 deep in a map", map[string]any{"a": []any{"ok", map[string]any{"b": "ok\xffok"}}}},
		{"invalid UTF-8 in a struct field", text{S: "\xfe"}},
		{"invalid UTF-8 in a []string", []string{"ok", "\xff"}},
		{"empty nested key", map[string]any{"": 1}},
		{"reserved nested key", map[string]any{"__name__": 1}},
		{"reserved key two maps deep", map[string]map[string]int{"ok": {"__x__": 1}}},
		{"invalid UTF-8 nested key", map[string]any{"\xff": 1}},
		{"reserved struct tag", reservedTag{X: 1}},
		{"reserved struct tag in a list", map[string]any{"m": []reservedTag{{X: 1}}}},
	}
	eachStore(t, func(t *testing.T, st Store) {
		var setErr error
		h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			switch r.URL.Path {
			case "/bad":
				i, _ := strconv.Atoi(r.FormValue("i"))
				setErr = s.Set("bad", cases[i].v)
			case "/ua":
				setErr = s.Set("ua", r.UserAgent())
			}
			if err := s.Set("good", "yes"); err != nil {
				t.Errorf("Set of a good value: %v", err)
			}
			fmt.Fprint(w, "done")
		}))
		v := &visitor{t: t, h: h}
		v.get("/")
		refused := func(name string, res response) {
			t.Helper()
			if setErr == nil || !(errors.Is(setErr, ErrUnsupportedType) || errors.Is(setErr, ErrInvalidKey)) {
				t.Errorf("%s: Set: %v, want ErrUnsupportedType or ErrInvalidKey", name, setErr)
			}
			if res.code != http.StatusOK {
				t.Errorf("%s: answer %d %q, want 200: the refused Set stored nothing and the rest was saved", name, res.code, res.body)
			}
		}
		for i, c := range cases {
			setErr = nil
			refused(c.name, v.get("/bad?i="+strconv.Itoa(i)))
		}
		setErr = nil
		// A User-Agent header that is not UTF-8, as anyone can send.
		rq := httptest.NewRequest(http.MethodGet, "/ua", nil)
		rq.Header.Set("Cookie", cookieOf(v.id))
		rq.Header.Set("User-Agent", "Mozilla\xff")
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, rq)
		req := func() response { return response{code: rw.Code, body: rw.Body.String()} }
		refused("User-Agent \\xff", req())
		rec, err := st.Get(context.Background(), Handle(v.id))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := rec.Values["bad"]; ok {
			t.Errorf("a refused value was stored: %v", rec.Values["bad"])
		}
		if ua, ok := rec.Values["ua"]; ok && ua != "" {
			t.Errorf("a refused User-Agent was stored: %q", ua)
		}
		if rec.Values["good"] != "yes" {
			t.Errorf("values stored: %v, want good=yes", rec.Values)
		}
	})
}

// gateStore holds every Visit, while armed, until the test lets it through
// (or its context ends), and reports each held Visit.
type gateStore struct {
	Store
	armed   atomic.Bool
	entered chan heldVisit
	release chan struct{}
}

// heldVisit is a Visit that a gateStore holds.
type heldVisit struct {
	ctx   context.Context
	views int64
}

func (g *gateStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	if isView(ms) && g.armed.Load() {
		g.entered <- heldVisit{ctx, ms[0].AddViews}
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Store.Commit(ctx, ms...)
}

// waitQueued waits until n views of session id queue in m behind the visit
// under way. The queue has no signal of its own to wait on: poll it.
func waitQueued(t *testing.T, m *Manager, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.visits.mu.Lock()
		q := m.visits.queues[Handle(id)]
		got := 0
		if q != nil {
			got = len(q.waiting)
		}
		m.visits.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d views queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Scenario 9. A Load with a 60 ms deadline leads a batch of views with 4
// page requests behind it, and the store answers the batch only after that
// deadline: the requests get their pages, and the breaker stays closed.
func TestScenarioShortDeadlineDoesNotSinkItsBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		// release is buffered: a release sent after the held Visit gave up
		// at its context's end does not wait for a taker.
		g := &gateStore{Store: st, entered: make(chan heldVisit, 8), release: make(chan struct{}, 2)}
		m := newManager(t, g, Config{})
		h := m.Middleware(greet)
		v := &visitor{t: t, h: h}
		v.get("/")
		id := v.id
		g.armed.Store(true)
		results := make(chan response, 5)
		page := func() { results <- do(t, h, http.MethodGet, "/", cookieOf(id)) }
		go page() // its visit is held in the store
		<-g.entered
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
		defer cancel()
		loadDeadline, _ := ctx.Deadline()
		loaded := make(chan error, 1)
		go func() {
			_, err := m.Load(ctx, id)
			loaded <- err
		}()
		waitQueued(t, m, id, 1)
		for range 4 {
			go page()
		}
		waitQueued(t, m, id, 5)
		g.release <- struct{}{} // the first visit ends; the batch of the Load and the 4 is held
		batch := <-g.entered
		if batch.views != 5 {
			t.Fatalf("the batch after the first visit counts %d views, want 5 (the Load and 4 requests): the machine is too slow for a 60 ms deadline", batch.views)
		}
		err := <-loaded
		t.Logf("Load with a 60 ms deadline: %v", err)
		if d, ok := batch.ctx.Deadline(); ok && !d.After(loadDeadline) {
			t.Errorf("the batch's store call ends at %v, with the Load's deadline: it must run within its members' latest", d.Sub(loadDeadline))
			<-batch.ctx.Done() // and so it fails
		}
		g.release <- struct{}{} // after the Load's deadline
		var seen []int
		for range 5 {
			res := <-results
			if res.code != http.StatusOK {
				t.Errorf("page request: %d %q, want 200", res.code, res.body)
				continue
			}
			seen = append(seen, views(t, res.body))
		}
		t.Logf("view numbers: %v", sortedCopy(seen))
		g.armed.Store(false)
		if res := do(t, h, http.MethodGet, "/", ""); res.code != http.StatusOK {
			t.Errorf("new visitor after the batch: %d %q, want 200", res.code, res.body)
		}
		if res := do(t, h, http.MethodGet, "/", cookieOf(id)); res.code != http.StatusOK {
			t.Errorf("the session's next view: %d %q, want 200", res.code, res.body)
		}
	})
}

// barrier holds the handlers of a burst of requests until all have their
// session, so that they change it at once.
type barrier struct {
	arrived sync.WaitGroup
	open    chan struct{}
}

// burst sends the requests paths of session id concurrently, round-robin
// over hs, through the handlers' barrier bar, and returns their answers in
// the order of paths.
func burst(t *testing.T, bar *atomic.Pointer[barrier], hs []http.Handler, id string, paths []string) []response {
	t.Helper()
	b := &barrier{open: make(chan struct{})}
	b.arrived.Add(len(paths))
	bar.Store(b)
	out := make([]response, len(paths))
	var done sync.WaitGroup
	for i, p := range paths {
		done.Go(func() { out[i] = do(t, hs[i%len(hs)], http.MethodGet, p, cookieOf(id)) })
	}
	b.arrived.Wait()
	close(b.open)
	done.Wait()
	bar.Store(nil)
	return out
}

// Scenario 10. The atomic operations are exact across concurrent requests
// on two instances: one Pop gets the value, every AddFlash is kept, and
// Increment and Modify lose no change.
func TestScenarioAtomicOperationsAcrossInstances(t *testing.T) {
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		var bar atomic.Pointer[barrier]
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			if b := bar.Load(); b != nil {
				b.arrived.Done()
				<-b.open
			}
			ctx := r.Context()
			var out any
			var err error
			switch r.URL.Path {
			case "/seed":
				err = s.Set("nonce", "n-1")
			case "/pop":
				var ok bool
				_, ok, err = s.Pop(ctx, "nonce")
				out = ok
			case "/flash":
				err = s.AddFlash(ctx, r.FormValue("m"))
			case "/flashes":
				out, err = s.Flashes(ctx)
			case "/inc":
				out, err = s.Increment(ctx, "n", 1)
			case "/modify":
				i, _ := strconv.ParseInt(r.FormValue("i"), 10, 64)
				out, err = Modify(ctx, s, "list", func(l []int64, _ bool) ([]int64, error) { return append(l, i), nil })
			}
			if err != nil {
				http.Error(w, "error: "+err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, out)
		})
		ms := managers(t, stores, Config{})
		hs := []http.Handler{ms[0].Middleware(page), ms[1].Middleware(page)}
		v := &visitor{t: t, h: hs[0]}
		v.get("/seed")
		id := v.id
		paths := func(n int, f func(i int) string) []string {
			p := make([]string, n)
			for i := range p {
				p[i] = f(i)
			}
			return p
		}
		failed := func(t *testing.T, what string, res []response) {
			t.Helper()
			for _, r := range res {
				if r.code != http.StatusOK {
					t.Errorf("%s: %d %q", what, r.code, r.body)
				}
			}
		}

		stored := func(t *testing.T) Record {
			t.Helper()
			rec, err := stores[0].Get(context.Background(), Handle(id))
			if err != nil {
				t.Fatal(err)
			}
			return rec
		}

		t.Run("pop", func(t *testing.T) {
			pops := burst(t, &bar, hs, id, paths(16, func(int) string { return "/pop" }))
			failed(t, "pop", pops)
			got := 0
			for _, r := range pops {
				if r.body == "true" {
					got++
				}
			}
			if got != 1 {
				t.Errorf("16 concurrent Pops of one value: %d got it, want 1", got)
			}
			if _, ok := stored(t).Values["nonce"]; ok {
				t.Errorf("the popped value is still stored")
			}
		})

		t.Run("flash", func(t *testing.T) {
			failed(t, "flash", burst(t, &bar, hs, id, paths(16, func(i int) string { return "/flash?m=m" + strconv.Itoa(i) })))
			flashes := do(t, hs[1], http.MethodGet, "/flashes", cookieOf(id))
			msgs := strings.Fields(strings.Trim(flashes.body, "[]"))
			slices.Sort(msgs)
			want := paths(16, func(i int) string { return "m" + strconv.Itoa(i) })
			slices.Sort(want)
			if !slices.Equal(msgs, want) {
				t.Errorf("16 concurrent AddFlash: Flashes %d %q, want all 16 messages", flashes.code, flashes.body)
			}
		})

		t.Run("increment", func(t *testing.T) {
			incs := burst(t, &bar, hs, id, paths(32, func(int) string { return "/inc" }))
			failed(t, "increment", incs)
			var sums []int
			for _, r := range incs {
				n, _ := strconv.Atoi(r.body)
				sums = append(sums, n)
			}
			slices.Sort(sums)
			if wantSums := paths(32, func(i int) string { return strconv.Itoa(i + 1) }); fmt.Sprint(sums) != "["+strings.Join(wantSums, " ")+"]" {
				t.Errorf("32 concurrent Increments returned %v, want 1…32 once each", sums)
			}
			if n := stored(t).Values["n"]; n != int64(32) {
				t.Errorf("after 32 concurrent Increments: n = %v, want 32", n)
			}
		})

		t.Run("modify", func(t *testing.T) {
			mods := burst(t, &bar, hs, id, paths(32, func(i int) string { return "/modify?i=" + strconv.Itoa(i) }))
			failed(t, "modify", mods)
			var list, want []int
			for _, x := range asList(stored(t).Values["list"]) {
				n, _ := x.(int64)
				list = append(list, int(n))
			}
			slices.Sort(list)
			for i, r := range mods {
				if r.code == http.StatusOK {
					want = append(want, i)
				}
			}
			if !slices.Equal(list, want) {
				t.Errorf("after 32 concurrent Modifies: list %v, want %v (each that succeeded, once)", list, want)
			}
		})
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// Scenario 11. Lost answers of a new visitor's Create, of a lazy session's
// first save, and of a SetOwner.
func TestScenarioLostCreateAndSetOwnerAnswers(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		opt, faults := faultyConn(t)
		st, project := firestoreStore(t, FirestoreConfig{}, opt)
		v := &visitor{t: t, h: newManager(t, st, Config{}).Middleware(http.HandlerFunc(scenPage))}
		fl := faults.arm(&fault{method: "Commit", match: isCreate, err: lost(codes.Unavailable)})
		res := v.get("/")
		if !fl.hasFired() {
			t.Fatal("no Create Commit")
		}
		if res.code != http.StatusOK || v.id == "" {
			t.Errorf("new visitor whose Create answer was lost: %d %q, want 200 with a session", res.code, res.body)
		}
		if docs := documents(t, project); len(docs) != 1 {
			t.Errorf("documents: %v, want 1", docs)
		}
		if v.id != "" {
			if p := parsePage(t, v.get("/")); p.isNew || p.views != 2 {
				t.Errorf("next view: %+v, want view 2", p)
			}
		}
	})
	t.Run("lazy first save", func(t *testing.T) {
		opt, faults := faultyConn(t)
		st, project := firestoreStore(t, FirestoreConfig{}, opt)
		v := &visitor{t: t, h: newManager(t, st, Config{Lazy: true}).Middleware(http.HandlerFunc(scenPage))}
		fl := faults.arm(&fault{method: "Commit", match: isCreate, err: lost(codes.Unavailable)})
		res := v.get("/set?k=user&v=ada")
		if !fl.hasFired() {
			t.Fatal("no Create Commit")
		}
		if res.code != http.StatusOK || v.id == "" {
			t.Errorf("lazy session's first save with its answer lost: %d %q, want 200 with a session", res.code, res.body)
		}
		if docs := documents(t, project); len(docs) != 1 {
			t.Errorf("documents: %v, want 1", docs)
		}
		if v.id != "" {
			if p := parsePage(t, v.get("/")); p.isNew || p.views != 2 || p.user != "ada" {
				t.Errorf("next view: %+v, want view 2 with user ada", p)
			}
		}
	})
	t.Run("set owner", func(t *testing.T) {
		opt, faults := faultyConn(t)
		st, project := firestoreStore(t, FirestoreConfig{}, opt)
		other := openStore(t, project, FirestoreConfig{})
		m := newManager(t, st, Config{})
		v := &visitor{t: t, h: m.Middleware(http.HandlerFunc(scenPage))}
		v.get("/")
		id := v.id
		fl := faults.arm(&fault{method: "Commit", match: masks(fieldOwner), err: lost(codes.Unavailable)})
		res := v.get("/owner?o=alice")
		if !fl.hasFired() {
			t.Fatal("no SetOwner Commit")
		}
		t.Logf("SetOwner with its answer lost: %d %q", res.code, res.body)
		rec, err := other.Get(context.Background(), Handle(id))
		if err != nil {
			t.Fatalf("the session after SetOwner's lost answer: %v", err)
		}
		switch {
		case res.code == http.StatusOK && rec.Owner != "alice":
			t.Errorf("SetOwner reported success, but the stored owner is %q", rec.Owner)
		case res.code != http.StatusOK:
			t.Logf("SetOwner reported failure; the stored owner is %q", rec.Owner)
		}
		p := parsePage(t, v.get("/"))
		if p.isNew || v.id != id || p.owner != rec.Owner {
			t.Errorf("next view: %+v, want the same session, with the stored owner %q", p, rec.Owner)
		}
		list, err := m.OwnerSessions(context.Background(), "alice")
		if err != nil || (len(list) == 1) != (rec.Owner == "alice") {
			t.Errorf("alice's sessions: %d (%v), want them to agree with the stored owner %q", len(list), err, rec.Owner)
		}
	})
}

// Scenario 12. One visitor's views round-robin over three instances: once
// each instance has seen the session, a view costs one Commit on the
// instance that serves it; an instance's first view costs the Commit and a
// read side by side.
func TestCallCountRoundRobin(t *testing.T) {
	type instance struct {
		h    http.Handler
		rpcs *rpcCounter
	}
	var fleet []instance
	ms, counters := countedFleet(t, 3)
	for i, m := range ms {
		fleet = append(fleet, instance{m.Middleware(greet), counters[i]})
	}
	v := &visitor{t: t}
	const n = 30
	total := 0
	for i := range n {
		in := fleet[i%len(fleet)]
		in.rpcs.take()
		v.h = in.h
		res := v.get("/")
		if res.code != http.StatusOK {
			t.Fatalf("view %d: %d %q", i+1, res.code, res.body)
		}
		if got := views(t, res.body); got != i+1 {
			t.Errorf("view %d counted as %d", i+1, got)
		}
		calls, k := in.rpcs.take()
		for j, other := range fleet {
			if j != i%len(fleet) {
				if c, k := other.rpcs.take(); k != 0 {
					t.Errorf("view %d: instance %d made %d calls %v though it did not serve it", i+1, j, k, c)
				}
			}
		}
		total += k
		switch {
		case i == 0:
			if k != 1 || calls["Commit"] != 1 {
				t.Errorf("view 1 (new visitor): %d calls %v, want 1 Commit", k, calls)
			}
		case i < len(fleet):
			if k != 2 || calls["Commit"] != 1 || calls["BatchGetDocuments"] != 1 {
				t.Errorf("view %d (instance %d's first): %d calls %v, want a Commit and a read", i+1, i, k, calls)
			}
		default:
			if k != 1 || calls["Commit"] != 1 {
				t.Errorf("view %d: %d calls %v, want 1 Commit", i+1, k, calls)
			}
		}
	}
	per := float64(total) / n
	t.Logf("%d calls for %d views: %.2f a view", total, n, per)
	if per > 1.2 {
		t.Errorf("%.2f calls a view, want at most 1.2", per)
	}
}
