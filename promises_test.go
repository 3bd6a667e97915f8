package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// Tests of promises that the package makes to its users. Each test names
// the promise it checks, and runs on every store where the promise
// applies: the memory store, and the Firestore emulator with several
// instances (Managers with stores of their own on one project) and lost
// answers where the promise is about them.
//
// They drive sessions through HTTP requests and Session methods. A
// session that must stay loaded while other requests change it is loaded
// with Manager.Load, as a websocket loop would hold it.

// pageOut is what promisePage answers, as JSON.
type pageOut struct {
	Views  int64
	New    bool
	Owner  string
	Value  string // what /get, /pop or /flashes read: "float64 1.5", or "none"
	Popped bool
	Err    string   // the error of a change that failed
	Is     []string // the package's errors that Err matches
}

// promisePage shows the session and changes it by path:
//
//	/set?k=K&v=V      Set a string
//	/setn?k=K&v=V     Set a number: a float when V has a dot
//	/get?k=K          read a value
//	/pop?k=K          Pop a value
//	/flash?m=M        AddFlash
//	/flashes          Flashes
//	/renew            Renew
//	/login?o=O&idle=D&max=D  Login
//	/max?d=D          SetLifetime with this Max
//
// A change that fails is answered 500, with its error.
func promisePage(w http.ResponseWriter, r *http.Request) {
	s, _ := FromContext(r.Context())
	ctx := r.Context()
	k := r.FormValue("k")
	var out pageOut
	var err error
	switch r.URL.Path {
	case "/set":
		err = s.Set(k, r.FormValue("v"))
	case "/setn":
		err = s.Set(k, number(r.FormValue("v")))
	case "/get":
		v, ok := s.Get(k)
		out.Value = show(v, ok)
	case "/pop":
		var v any
		v, out.Popped, err = s.Pop(ctx, k)
		out.Value = show(v, out.Popped)
	case "/flash":
		err = s.AddFlash(ctx, r.FormValue("m"))
	case "/flashes":
		var list []string
		list, err = s.Flashes(ctx)
		out.Value = strings.Join(list, ",")
	case "/renew":
		err = s.Renew(ctx)
	case "/login":
		err = s.Login(ctx, r.FormValue("o"), Lifetime{Idle: duration(r, "idle"), Max: duration(r, "max")})
	case "/max":
		err = s.SetLifetime(ctx, Lifetime{Max: duration(r, "d")})
	}
	out.Views, out.New, out.Owner = s.Views(), s.IsNew(), s.Owner()
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		out.Err, out.Is = err.Error(), sentinels(err)
		w.WriteHeader(http.StatusInternalServerError)
	}
	_ = json.NewEncoder(w).Encode(out)
}

// number parses v as an int64, or as a float64 when it has a dot.
func number(v string) any {
	if strings.Contains(v, ".") {
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// duration parses the form value name as a duration; 0 when absent.
func duration(r *http.Request, name string) time.Duration {
	d, _ := time.ParseDuration(r.FormValue(name))
	return d
}

// show describes a value read from a session: its type and value.
func show(v any, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%T %v", v, v)
}

// sentinels returns the names of the package's errors that err matches.
func sentinels(err error) []string {
	var out []string
	for name, e := range map[string]error{
		"ErrNotFound": ErrNotFound, "ErrConflict": ErrConflict, "ErrTooManySessions": ErrTooManySessions,
		"ErrInactive": ErrInactive, "ErrTooLarge": ErrTooLarge, "ErrUnsupportedType": ErrUnsupportedType,
		"ErrWrongType": ErrWrongType, "ErrUnavailable": ErrUnavailable,
	} {
		if errors.Is(err, e) {
			out = append(out, name)
		}
	}
	return out
}

// decodePage reads promisePage's answer. It does not stop the test, so
// that goroutines may call it.
func decodePage(res response) (pageOut, error) {
	var p pageOut
	if err := json.Unmarshal([]byte(res.body), &p); err != nil {
		return p, fmt.Errorf("answer %d %q: %w", res.code, res.body, err)
	}
	return p, nil
}

// ask sends a request of session id ("" for none) to h and returns the
// page and the answer.
func ask(t *testing.T, h http.Handler, path, id string) (pageOut, response) {
	t.Helper()
	cookie := ""
	if id != "" {
		cookie = cookieOf(id)
	}
	res := do(t, h, http.MethodGet, path, cookie)
	p, err := decodePage(res)
	if err != nil {
		t.Fatal(err)
	}
	return p, res
}

// mustCall is ask for a request that must succeed.
func mustCall(t *testing.T, h http.Handler, path, id string) (pageOut, response) {
	t.Helper()
	p, res := ask(t, h, path, id)
	if res.code != http.StatusOK {
		t.Fatalf("%s: %d %q", path, res.code, res.body)
	}
	return p, res
}

// newVisitorID starts a session on h and returns its id.
func newVisitorID(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	_, res := mustCall(t, h, path, "")
	if res.cookie == nil {
		t.Fatalf("%s: no session cookie", path)
	}
	return res.cookie.Value
}

// idAfter returns the id that the answer res gives the visitor whose id
// was id: the new cookie's, or else id.
func idAfter(id string, res response) string {
	if res.cookie != nil && res.cookie.MaxAge >= 0 {
		return res.cookie.Value
	}
	return id
}

// handlers returns, for each Manager, its middleware around h.
func handlers(ms []*Manager, h http.HandlerFunc) []http.Handler {
	hs := make([]http.Handler, len(ms))
	for i, m := range ms {
		hs[i] = m.Middleware(h)
	}
	return hs
}

// served reports whether session id is still served: a request with its
// cookie gets it, not a new session.
func served(t *testing.T, h http.Handler, id string) bool {
	t.Helper()
	p, res := mustCall(t, h, "/", id)
	return !p.New && idAfter(id, res) == id
}

// Sessions must not end early when a view also changes the session: the
// view's save must not undo the move of the expiry that the view made.
func TestSlideSurvivesOwnSave(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		clock := newTestClock()
		m := newManager(t, st, Config{Lifetime: Lifetime{Idle: 10 * time.Minute}, Clock: clock.now})
		h := m.Middleware(http.HandlerFunc(promisePage))
		id := newVisitorID(t, h, "/")
		clock.add(9 * time.Minute)
		if p, _ := mustCall(t, h, "/set?k=cart&v=book", id); p.New || p.Views != 2 {
			t.Fatalf("view at t=9m: %+v, want view 2 of the session", p)
		}
		clock.add(9 * time.Minute)
		p, res := mustCall(t, h, "/", id)
		if p.New || p.Views != 3 || idAfter(id, res) != id {
			t.Errorf("view at t=18m, 9 minutes after the last one with a 10-minute idle timeout: %+v, want view 3 of the same session", p)
		}
	})
}

// The same promise for many visitors at once, each active every 9
// minutes with a 10-minute idle timeout, whose middle request sets a
// value: no session may end.
func TestSlideSurvivesOwnSaveManyVisitors(t *testing.T) {
	const visitors, rounds = 100, 5
	eachFleet(t, 2, func(t *testing.T, stores []Store) {
		clock := newTestClock()
		hs := handlers(managers(t, stores, Config{Lifetime: Lifetime{Idle: 10 * time.Minute}, Clock: clock.now}), promisePage)
		ids := make([]string, visitors)
		ended := make([]bool, visitors)
		for round := range rounds {
			if round > 0 {
				clock.add(9 * time.Minute)
			}
			path := "/"
			if round == rounds/2 {
				path = "/set?k=cart&v=book"
			}
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					h := hs[(i+round)%len(hs)]
					cookie := ""
					if ids[i] != "" {
						cookie = cookieOf(ids[i])
					}
					res := do(t, h, http.MethodGet, path, cookie)
					p, err := decodePage(res)
					if err != nil || res.code != http.StatusOK {
						t.Errorf("visitor %d, round %d: %v %q", i, round, err, res.body)
						return
					}
					if round > 0 && (p.New || p.Views != int64(round+1)) {
						ended[i] = true
					}
					ids[i] = idAfter(ids[i], res)
				})
			}
			wg.Wait()
		}
		n := 0
		for _, e := range ended {
			if e {
				n++
			}
		}
		if n > 0 {
			t.Errorf("%d of %d sessions ended early, though each was used every 9 minutes with a 10-minute idle timeout", n, visitors)
		}
	})
}

// A view served in the session's last moments must keep the session
// alive: the move of the expiry it makes must land, however little time
// the session had left.
func TestLastMomentViewKeepsSession(t *testing.T) {
	const idle = 10 * time.Minute
	for name, left := range map[string]time.Duration{"1ms": time.Millisecond, "1us": time.Microsecond} {
		t.Run(name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st Store) {
				clock := newTestClock()
				m := newManager(t, st, Config{Lifetime: Lifetime{Idle: idle}, Clock: clock.now})
				h := m.Middleware(http.HandlerFunc(promisePage))
				id := newVisitorID(t, h, "/")
				clock.add(idle - left)
				if p, _ := mustCall(t, h, "/", id); p.New || p.Views != 2 {
					t.Fatalf("view %v before the end: %+v, want view 2 of the session", left, p)
				}
				clock.add(idle / 2)
				p, res := mustCall(t, h, "/", id)
				if p.New || p.Views != 3 || idAfter(id, res) != id {
					t.Errorf("view %v after one served %v before the end: %+v, want view 3 of the same session", idle/2, left, p)
				}
			})
		})
	}
}

// Renew or Login inside a coalesced batch of views must not rewind the
// view count: the renewed session counts on from the highest number that
// any request of the session was served.
func TestRenewInBatchKeepsViewCount(t *testing.T) {
	for name, op := range map[string]string{"renew": "/renew", "login": "/login?o=alice"} {
		t.Run(name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st Store) {
				// The two requests of the batch meet at bar; the one with
				// the lower view number then makes the change.
				var mu sync.Mutex
				var batch []int64
				bar := &barrier{open: make(chan struct{})}
				bar.arrived.Add(2)
				page := func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/batch" {
						s, _ := FromContext(r.Context())
						mu.Lock()
						batch = append(batch, s.Views())
						mu.Unlock()
						bar.arrived.Done()
						<-bar.open
						mu.Lock()
						lowest := s.Views() == min(batch[0], batch[1])
						mu.Unlock()
						r.URL.Path = "/"
						if lowest {
							r.URL.Path, r.URL.RawQuery, _ = strings.Cut(op, "?")
						}
					}
					promisePage(w, r)
				}
				g := &gateStore{Store: st, entered: make(chan heldVisit, 1), release: make(chan struct{}, 1)}
				m := newManager(t, g, Config{Clock: newTestClock().now})
				h := m.Middleware(http.HandlerFunc(page))
				id := newVisitorID(t, h, "/")
				g.armed.Store(true)
				results := make(chan response, 3)
				go func() { results <- do(t, h, http.MethodGet, "/", cookieOf(id)) }()
				<-g.entered // the first request's visit is held
				for range 2 {
					go func() { results <- do(t, h, http.MethodGet, "/batch", cookieOf(id)) }()
				}
				waitQueued(t, m, id, 2)
				g.armed.Store(false)
				g.release <- struct{}{}
				bar.arrived.Wait()
				close(bar.open)
				var highest int64 = 1
				lineage := id
				for range 3 {
					res := <-results
					p, err := decodePage(res)
					if err != nil || res.code != http.StatusOK {
						t.Fatalf("request of the session: %v %q", err, res.body)
					}
					highest = max(highest, p.Views)
					if next := idAfter(id, res); next != id {
						lineage = next
					}
				}
				if lineage == id {
					t.Fatal("no request of the batch renewed the session")
				}
				t.Logf("view numbers of the batch: %v", batch)
				if p, _ := mustCall(t, h, "/", lineage); p.New || p.Views <= highest {
					t.Errorf("next view of the renewed session: %+v, want a view number above %d, the highest served so far", p, highest)
				}
			})
		})
	}
}

// sessionChanges are changes a loaded session makes of itself that are
// stored at once; each must leave the session's copy as stale as it was.
var sessionChanges = map[string]func(ctx context.Context, s *Session) error{
	"increment": func(ctx context.Context, s *Session) error {
		_, err := s.Increment(ctx, "n", 1)
		return err
	},
	"set owner": func(ctx context.Context, s *Session) error { return s.SetOwner(ctx, "alice") },
	"set lifetime": func(ctx context.Context, s *Session) error {
		return s.SetLifetime(ctx, Lifetime{Idle: 2 * time.Hour})
	},
}

// A stale copy must not pass as current: a session loaded before another
// request popped a value must not pop it again, after a change of its own
// that another key or attribute took.
func TestPopAfterOwnChangeSeesConcurrentPop(t *testing.T) {
	for name, change := range sessionChanges {
		t.Run(name, func(t *testing.T) {
			eachFleet(t, 2, func(t *testing.T, stores []Store) {
				ctx := context.Background()
				ms := managers(t, stores, Config{})
				other := ms[1].Middleware(http.HandlerFunc(promisePage))
				id := newVisitorID(t, other, "/set?k=nonce&v=n-1")
				held, err := ms[0].Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if p, _ := mustCall(t, other, "/pop?k=nonce", id); !p.Popped {
					t.Fatalf("the other request's Pop: %+v, want the nonce", p)
				}
				if err := change(ctx, held); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				v, ok, err := held.Pop(ctx, "nonce")
				if err != nil || ok {
					t.Errorf("Pop after %s of a session loaded before another request popped the nonce: %v, %t, %v; want nothing", name, v, ok, err)
				}
				if err := ms[0].Save(ctx, held); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// The same promise for AddFlash: a flash added by another request must
// survive the AddFlash of a session loaded before it, after a change of
// the session's own.
func TestAddFlashAfterOwnChangeKeepsConcurrentFlash(t *testing.T) {
	for name, change := range sessionChanges {
		t.Run(name, func(t *testing.T) {
			eachFleet(t, 2, func(t *testing.T, stores []Store) {
				ctx := context.Background()
				ms := managers(t, stores, Config{})
				other := ms[1].Middleware(http.HandlerFunc(promisePage))
				id := newVisitorID(t, other, "/")
				held, err := ms[0].Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				mustCall(t, other, "/flash?m=theirs", id)
				if err := change(ctx, held); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := held.AddFlash(ctx, "mine"); err != nil {
					t.Fatalf("AddFlash: %v", err)
				}
				if err := ms[0].Save(ctx, held); err != nil {
					t.Fatal(err)
				}
				if p, _ := mustCall(t, other, "/flashes", id); p.Value != "theirs,mine" {
					t.Errorf("flashes after another request's AddFlash, then %s and AddFlash of a session loaded before it: %q, want theirs,mine", name, p.Value)
				}
			})
		})
	}
}

// Increment over a value that another request stored meanwhile and that
// is no integer must fail with ErrWrongType and leave the value as it is:
// a string set on another instance, and 1.5 set on the same instance,
// whose cache must not keep the stale integer.
func TestIncrementRefusesWhatIsNoInteger(t *testing.T) {
	for _, tc := range []struct {
		name     string
		instance int    // the instance of the other request
		set      string // what it stores
		want     string // what every instance serves after the Increment
	}{
		{"string on another instance", 1, "/set?k=n&v=seven", "string seven"},
		{"float on the same instance", 0, "/setn?k=n&v=1.5", "float64 1.5"},
	} {
		for seedName, seed := range map[string]string{"absent": "/", "integer": "/setn?k=n&v=1"} {
			t.Run(tc.name+"/"+seedName, func(t *testing.T) {
				eachFleet(t, 2, func(t *testing.T, stores []Store) {
					ctx := context.Background()
					ms := managers(t, stores, Config{})
					hs := handlers(ms, promisePage)
					id := newVisitorID(t, hs[tc.instance], seed)
					held, err := ms[0].Load(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					mustCall(t, hs[tc.instance], tc.set, id)
					sum, err := held.Increment(ctx, "n", 1)
					if !errors.Is(err, ErrWrongType) {
						t.Errorf("Increment of a value another request replaced (%s): %d, %v; want ErrWrongType", tc.set, sum, err)
					}
					if err := ms[0].Save(ctx, held); err != nil {
						t.Fatal(err)
					}
					for i, h := range hs {
						if p, _ := mustCall(t, h, "/get?k=n", id); p.Value != tc.want {
							t.Errorf("instance %d after the Increment: n = %q, want %s", i, p.Value, tc.want)
						}
					}
				})
			})
		}
	}
}

// Increment past the range of int64 must fail with ErrTooLarge and leave
// the value as it was, as every instance sees it.
func TestIncrementRefusesToOverflow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value int64
		delta int64
	}{
		{"max", math.MaxInt64, 1},
		{"min", math.MinInt64, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachFleet(t, 2, func(t *testing.T, stores []Store) {
				ctx := context.Background()
				ms := managers(t, stores, Config{})
				hs := handlers(ms, promisePage)
				id := newVisitorID(t, hs[1], fmt.Sprintf("/setn?k=n&v=%d", tc.value))
				held, err := ms[0].Load(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				sum, err := held.Increment(ctx, "n", tc.delta)
				if !errors.Is(err, ErrTooLarge) {
					t.Errorf("Increment of %d by %d: %d, %v; want ErrTooLarge", tc.value, tc.delta, sum, err)
				}
				if err := ms[0].Save(ctx, held); err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("int64 %d", tc.value)
				for i, h := range hs {
					if p, _ := mustCall(t, h, "/get?k=n", id); p.Value != want {
						t.Errorf("instance %d after the Increment: n = %q, want %q", i, p.Value, want)
					}
				}
			})
		})
	}
}

// lostAnswerStore is a Store whose next Apply that sets key, once armed,
// is applied, followed by between, and then answered with a deadline
// error: the answer of an applied write is lost, and between runs before
// the caller learns anything.
type lostAnswerStore struct {
	Store
	key     string
	between func()
	armed   atomic.Bool
}

func (l *lostAnswerStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	if len(ms) != 1 || !l.armed.Load() {
		return l.Store.Commit(ctx, ms...)
	}
	if _, sets := ms[0].Set[l.key]; !sets || !l.armed.CompareAndSwap(true, false) {
		return l.Store.Commit(ctx, ms...)
	}
	if _, err := l.Store.Commit(ctx, ms...); err != nil {
		return nil, err
	}
	l.between()
	return nil, fmt.Errorf("%w: injected: the answer was lost: %w", ErrUnavailable, context.DeadlineExceeded)
}

// A resent save must not resurrect a popped value: the save of a one-time
// value is applied but its answer lost, and another instance pops the
// value before the saving request learns anything. Whatever that request
// answers, no later request may pop the value again.
func TestResentSaveDoesNotResurrectPoppedValue(t *testing.T) {
	// check runs the scenario on instances a and b; arm makes the next
	// save of the nonce on a lose its answer, running between first, and
	// returns whether that happened.
	check := func(t *testing.T, a, b http.Handler, arm func(between func()) (fired func() bool)) {
		id := newVisitorID(t, a, "/")
		var between response
		fired := arm(func() { between = do(t, b, http.MethodGet, "/pop?k=nonce", cookieOf(id)) })
		saved := do(t, a, http.MethodGet, "/set?k=nonce&v=n-1", cookieOf(id))
		if !fired() {
			t.Fatal("the save of the nonce did not lose its answer")
		}
		if p, err := decodePage(between); err != nil || !p.Popped {
			t.Fatalf("the pop on the other instance, after the save was applied: %+v %v, want the nonce", p, err)
		}
		t.Logf("the request whose save lost its answer: %d %q", saved.code, saved.body)
		for i, h := range []http.Handler{a, b} {
			if p, _ := mustCall(t, h, "/pop?k=nonce", id); p.Popped {
				t.Errorf("instance %d popped the nonce a second time: %+v", i, p)
			}
		}
	}
	for _, c := range []codes.Code{codes.Unavailable, codes.DeadlineExceeded} {
		t.Run("firestore "+c.String(), func(t *testing.T) {
			opt, faults := faultyConn(t)
			stA, project := firestoreStore(t, FirestoreConfig{}, opt)
			stB := openStore(t, project, FirestoreConfig{})
			a := newManager(t, stA, Config{}).Middleware(http.HandlerFunc(promisePage))
			b := newManager(t, stB, Config{}).Middleware(http.HandlerFunc(promisePage))
			check(t, a, b, func(between func()) func() bool {
				return faults.arm(&fault{method: "Commit", match: masks("values.nonce"), after: between, err: lost(c)}).hasFired
			})
		})
	}
	t.Run("memory", func(t *testing.T) {
		st := NewMemoryStore()
		lossy := &lostAnswerStore{Store: st, key: "nonce"}
		a := newManager(t, lossy, Config{}).Middleware(http.HandlerFunc(promisePage))
		b := newManager(t, st, Config{}).Middleware(http.HandlerFunc(promisePage))
		check(t, a, b, func(between func()) func() bool {
			lossy.between = between
			lossy.armed.Store(true)
			return func() bool { return !lossy.armed.Load() }
		})
	})
}

// A self-referential value must be refused with an error, not crash the
// process.
func TestSelfReferentialValueIsRefused(t *testing.T) {
	type loop *loop
	type node struct{ Next *node }
	type box struct{ V any }
	cases := []struct {
		name  string
		value func() any
	}{
		{"pointer to itself through any", func() any {
			var x any
			x = &x
			return x
		}},
		{"pointer type to itself", func() any {
			var p loop
			p = &p
			return p
		}},
		{"struct pointing to itself", func() any {
			n := &node{}
			n.Next = n
			return n
		}},
		{"map holding itself", func() any {
			m := map[string]any{}
			m["self"] = m
			return m
		}},
		{"struct holding itself in any", func() any {
			b := &box{}
			b.V = b
			return b
		}},
		{"slice holding itself", func() any {
			s := []any{nil}
			s[0] = s
			return s
		}},
	}
	ctx := context.Background()
	m := newManager(t, NewMemoryStore(), Config{})
	id := newVisitorID(t, m.Middleware(http.HandlerFunc(promisePage)), "/")
	refused := func(err error) bool { return errors.Is(err, ErrUnsupportedType) || errors.Is(err, ErrTooLarge) }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := m.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Set("k", tc.value()); !refused(err) {
				t.Errorf("Set: %v, want ErrUnsupportedType or ErrTooLarge", err)
			}
			if _, err := Modify(ctx, s, "k", func(any, bool) (any, error) { return tc.value(), nil }); !refused(err) {
				t.Errorf("Modify: %v, want ErrUnsupportedType or ErrTooLarge", err)
			}
			if v, ok := s.Get("k"); ok {
				t.Errorf("the refused value is in the session: %v", v)
			}
			if err := m.Save(ctx, s); err != nil {
				t.Fatal(err)
			}
		})
	}
}
