package reliability

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/firestore-sessions/sessions/internal/tcpproxy"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/internal/emulator"
)

// Case 9: randomized races with lost answers. Three in-process instances
// (a Manager and a FirestoreStore each, on one emulator database, with one
// fake clock) serve a seeded random mix of operations on a few visitors'
// sessions from concurrent workers, while a gRPC interceptor replaces
// answers of applied calls with errors and a TCP proxy drops answers and
// resets connections. The same histories run on the memory store too: three
// Managers share one MemoryStore, as three instances share a database, each
// through a wrapper that loses answers at the same rate
// (racestore_test.go). Every call is recorded as the client saw it, and the
// history is checked afterwards against a model of a session
// (racecheck_test.go).

var seedFlag = flag.Uint64("seed", 0, "race suite: replay the history of seed `N` (0: new random seeds)")

// The Managers' lifetimes, short so that clock steps pass them, and their
// cap of sessions per owner (Config.MaxOwnerSessions), which histories of
// odd seeds enforce by refusing extra logins (Config.RefuseExtraLogins)
// and the others by ending the owner's least recently used sessions.
const (
	raceIdle = time.Minute
	raceMax  = 10 * time.Minute
	raceCap  = 2
	// Ids rotate (Config.RenewAfter) after raceRenewAfter; the old id
	// works for raceGrace more.
	raceRenewAfter = 90 * time.Second
	raceGrace      = 20 * time.Second
)

func raceRefuses(seed uint64) bool { return seed%2 == 1 }

// raceSize is the size of the race suite's run.
type raceSize struct {
	histories, ops, workers, visitors int
}

func raceSizes() raceSize {
	if *fullFlag {
		return raceSize{histories: 12, ops: 1500, workers: 8, visitors: 5}
	}
	return raceSize{histories: 3, ops: 400, workers: 6, visitors: 5}
}

// Fault rates: modest, so that histories stay long.
const (
	lostAnswerRate = 0.05 // of gRPC calls
	proxyDropRate  = 0.02 // of requests: the instance's proxy drops the next answer
)

// replayRate is the share of requests that send one of their visitor's
// earlier cookies, which must no longer be served once their session ended.
const replayRate = 0.15

// Bursts: instead of one request, a worker sometimes sends several at once.
// A tab burst is 2 to 4 requests of one visitor to one instance, as tabs
// of a browser opened together: the instance coalesces their views into
// one store visit, and their changes race on the batch's version. A login
// rush is 2 or 3 visitors logging in as one owner on different instances
// at once, which the cap of sessions per owner must withstand.
const (
	tabBurstRate  = 0.12
	loginRushRate = 0.03
)

var raceOwners = []string{"alice", "bob"}

// counterStr is the value that setstr puts under the counter's key (and
// setfloat puts counterFloat): an Increment must then fail, not replace it.
func counterStr(n int) string { return "s" + strconv.Itoa(n) }

// opInput is what the handler is told to do, from the query.
type opInput struct {
	N     int
	Value string
	Owner string
	Life  lifeIn
	Delta int64
}

// opAnswer is what the handler found and did, sent back in the
// raceAnswerHeader (not in the body: a handler that writes nothing leaves
// the status to the middleware, which answers 503 when the changes cannot
// be saved, so that a 200 acknowledges them).
type opAnswer struct {
	ID      string            `json:"id"`
	New     bool              `json:"new"`
	Views   int64             `json:"views"`
	Seen    map[string]string `json:"seen"`
	Popped  string            `json:"popped,omitempty"`
	PopOK   bool              `json:"pop_ok,omitempty"`
	NewID   string            `json:"new_id,omitempty"`
	Count   int64             `json:"count,omitempty"`
	Flashes []string          `json:"flashes,omitempty"`
	Owner   string            `json:"owner,omitempty"` // the session's owner as loaded
	Err     string            `json:"err,omitempty"`
}

const raceAnswerHeader = "X-Race-Answer"

// raceOp is one operation of the suite: how the client chooses its inputs,
// and what the handler does. The checker knows it only by its effects.
// burst is its weight in tab bursts, which favour the changes that race
// within a coalesced batch.
type raceOp struct {
	name    string
	weight  int
	burst   int
	eff     effect
	prepare func(rng *rand.Rand, in *opInput)
	run     func(ctx context.Context, s *sessions.Session, in opInput, a *opAnswer) error
}

// pop is Session.Pop as the suite calls it.
func pop(ctx context.Context, s *sessions.Session, key string) (any, bool, error) {
	return s.Pop(ctx, key)
}

// raceOps are the operations, by weight. An operation is one line here;
// effects the checker models are listed in racecheck_test.go.
var raceOps = []raceOp{
	{name: "view", weight: 24, burst: 10, run: func(context.Context, *sessions.Session, opInput, *opAnswer) error { return nil }},
	// A request of an Uncounted route: the session read, no view counted.
	{name: "peek", weight: 6, burst: 4, run: func(context.Context, *sessions.Session, opInput, *opAnswer) error { return nil }},
	{name: "set", weight: 20, burst: 8, eff: effSetShared, prepare: func(_ *rand.Rand, in *opInput) { in.Value = "v" + strconv.Itoa(in.N) }, run: runSet},
	{name: "delete", weight: 5, burst: 1, eff: effDelShared, run: func(_ context.Context, s *sessions.Session, _ opInput, _ *opAnswer) error { return s.Delete(sharedKey) }},
	{name: "pop", weight: 14, burst: 8, eff: effPopShared, run: runPop},
	{name: "renew", weight: 5, burst: 6, eff: effRenew, run: runRenew},
	{name: "setowner", weight: 4, burst: 1, eff: effSetOwner, prepare: prepOwner, run: func(ctx context.Context, s *sessions.Session, in opInput, _ *opAnswer) error {
		return s.SetOwner(ctx, in.Owner)
	}},
	{name: "setlifetime", weight: 5, burst: 14, eff: effSetLifetime, prepare: prepSetLife, run: func(ctx context.Context, s *sessions.Session, in opInput, _ *opAnswer) error {
		return s.SetLifetime(ctx, sessions.Lifetime{Idle: in.Life.Idle, Max: in.Life.Max})
	}},
	{name: "destroy", weight: 3, burst: 5, eff: effDestroy, run: func(ctx context.Context, s *sessions.Session, _ opInput, _ *opAnswer) error { return s.Destroy(ctx) }},
	{name: "destroyowner", weight: 2, eff: effDestroyOwner, prepare: prepOwner}, // Manager.DestroyOwnerSessions: see raceInstance.destroyOwner
	{name: "addflash", weight: 4, burst: 2, eff: effAddFlash, prepare: func(_ *rand.Rand, in *opInput) { in.Value = "f" + strconv.Itoa(in.N) }, run: func(ctx context.Context, s *sessions.Session, in opInput, _ *opAnswer) error {
		return s.AddFlash(ctx, in.Value)
	}},
	{name: "flashes", weight: 3, burst: 2, eff: effFlashes, run: func(ctx context.Context, s *sessions.Session, _ opInput, a *opAnswer) error {
		var err error
		a.Flashes, err = s.Flashes(ctx)
		return err
	}},
	{name: "step", weight: 6, eff: effStep}, // the fake clock: see raceHistory.do
	{name: "incr", weight: 8, burst: 5, eff: effIncr, prepare: func(r *rand.Rand, in *opInput) { in.Delta = 1 + r.Int64N(3) }, run: func(ctx context.Context, s *sessions.Session, in opInput, a *opAnswer) (err error) {
		a.Count, err = s.Increment(ctx, counterKey, in.Delta)
		return err
	}},
	{name: "modify", weight: 8, burst: 5, eff: effSetShared, prepare: func(_ *rand.Rand, in *opInput) { in.Value = "v" + strconv.Itoa(in.N) }, run: func(ctx context.Context, s *sessions.Session, in opInput, _ *opAnswer) error {
		if _, err := sessions.Modify(ctx, s, sharedKey, func(string, bool) (string, error) { return in.Value, nil }); err != nil {
			return err
		}
		return s.Set(uniqueKey(in.N), in.Value)
	}},
	{name: "login", weight: 6, burst: 5, eff: effRenew | effSetOwner | effSetLifetime | effLogin, prepare: func(r *rand.Rand, in *opInput) { prepOwner(r, in); prepLife(r, in) }, run: func(ctx context.Context, s *sessions.Session, in opInput, a *opAnswer) error {
		err := s.Login(ctx, in.Owner, sessions.Lifetime{Idle: in.Life.Idle, Max: in.Life.Max})
		if err == nil {
			a.NewID = s.ID()
		}
		return err
	}},
	// A handler that counts and then pops, as one that checks a rate limit
	// before taking a one-time value: the pop runs on the request's copy
	// as the increment left it.
	{name: "incrpop", weight: 3, burst: 5, eff: effIncr | effPopShared, prepare: func(r *rand.Rand, in *opInput) { in.Delta = 1 + r.Int64N(3) }, run: func(ctx context.Context, s *sessions.Session, in opInput, a *opAnswer) (err error) {
		if a.Count, err = s.Increment(ctx, counterKey, in.Delta); err != nil {
			return err
		}
		return runPop(ctx, s, in, a)
	}},
	// The counter's key given a value of another type, which Increment
	// must leave as it is.
	{name: "setstr", weight: 1, burst: 1, eff: effSetCounter, prepare: func(_ *rand.Rand, in *opInput) { in.Value = counterStr(in.N) }, run: func(_ context.Context, s *sessions.Session, in opInput, _ *opAnswer) error {
		return s.Set(counterKey, in.Value)
	}},
	{name: "setfloat", weight: 1, burst: 1, eff: effSetCounter, prepare: func(_ *rand.Rand, in *opInput) { in.Value = fmt.Sprint(counterFloat) }, run: func(_ context.Context, s *sessions.Session, _ opInput, _ *opAnswer) error {
		return s.Set(counterKey, counterFloat)
	}},
}

func runSet(_ context.Context, s *sessions.Session, in opInput, _ *opAnswer) error {
	if err := s.Set(sharedKey, in.Value); err != nil {
		return err
	}
	return s.Set(uniqueKey(in.N), in.Value)
}

func runPop(ctx context.Context, s *sessions.Session, _ opInput, a *opAnswer) error {
	v, ok, err := pop(ctx, s, sharedKey)
	if ok {
		a.Popped, a.PopOK = fmt.Sprint(v), true
	}
	return err
}

func runRenew(ctx context.Context, s *sessions.Session, _ opInput, a *opAnswer) error {
	if err := s.Renew(ctx); err != nil {
		return err
	}
	a.NewID = s.ID()
	return nil
}

func prepOwner(rng *rand.Rand, in *opInput) { in.Owner = raceOwners[rng.IntN(len(raceOwners))] }

// prepLife shortens or lengthens the idle timeout and the lifetime, or
// gives the Manager's back (0).
func prepLife(rng *rand.Rand, in *opInput) {
	in.Life.Idle = []time.Duration{0, 30 * time.Second, 3 * time.Minute}[rng.IntN(3)]
	in.Life.Max = []time.Duration{0, 4 * time.Minute, 30 * time.Minute}[rng.IntN(3)]
}

// prepSetLife is prepLife, and sometimes a lifetime of 45 s, which ends a
// session older than that at once: nothing may bring it back.
func prepSetLife(rng *rand.Rand, in *opInput) {
	prepLife(rng, in)
	if rng.IntN(3) == 0 {
		in.Life.Max = 45 * time.Second
	}
}

func opByName(name string) (raceOp, bool) {
	for _, op := range raceOps {
		if op.name == name {
			return op, true
		}
	}
	return raceOp{}, false
}

// fakeClock is the settable clock that every instance shares.
type fakeClock struct {
	mu    sync.Mutex
	epoch time.Time
	now   time.Time
}

func newFakeClock() *fakeClock {
	t := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	return &fakeClock{epoch: t, now: t}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// since returns the clock's time since its epoch.
func (c *fakeClock) since() time.Duration { return c.Now().Sub(c.epoch) }

func (c *fakeClock) step(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// raceInstance is one instance of the app: its own connection (interceptor
// and proxy in it) and store, or its own wrapper of the shared memory
// store, and its Manager and HTTP server.
type raceInstance struct {
	srv    *httptest.Server
	proxy  *tcpproxy.Proxy // nil on the memory store
	lost   *lostAnswers    // nil on the memory store
	faults *storeFaults    // nil on Firestore
	m      *sessions.Manager
	logs   *syncBuffer
}

// injected returns how many answers the instance's faults replaced.
func (in *raceInstance) injected() int64 {
	if in.lost != nil {
		return in.lost.injected.Load()
	}
	return in.faults.injected.Load()
}

// drops returns how many answers the instance's proxy dropped.
func (in *raceInstance) drops() int64 {
	if in.proxy == nil {
		return 0
	}
	return in.proxy.Drops()
}

// raceBackend is where a history's instances keep their sessions: the
// emulator at host, or one memory store that they share.
type raceBackend struct {
	name   string // "firestore" or "memory"
	host   string
	memory *sessions.MemoryStore
}

func startRaceInstance(t *testing.T, b raceBackend, project string, clock *fakeClock, seed uint64, refuse bool) *raceInstance {
	t.Helper()
	in := &raceInstance{logs: &syncBuffer{}}
	var store sessions.Store
	if b.memory != nil {
		in.faults = newStoreFaults(seed, lostAnswerRate)
		store = withFaults(b.memory, in.faults)
	} else {
		proxy, err := tcpproxy.Start(b.host, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(proxy.Close)
		in.proxy, in.lost = proxy, newLostAnswers(seed, lostAnswerRate)
		conn, err := faultyConn(proxy, in.lost)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fs, err := sessions.OpenFirestore(ctx, project, sessions.FirestoreConfig{}, option.WithGRPCConn(conn))
		if err != nil {
			conn.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() {
			fs.Close()
			conn.Close()
		})
		store = fs
	}
	m, err := sessions.New(store, sessions.Config{
		CookieName:        cookieName,
		Insecure:          true,
		Lifetime:          sessions.Lifetime{Idle: raceIdle, Max: raceMax},
		Clock:             clock.Now,
		Logger:            slog.New(slog.NewTextHandler(in.logs, nil)),
		MaxOwnerSessions:  raceCap,
		RefuseExtraLogins: refuse,
		RenewAfter:        raceRenewAfter,
		RenewGrace:        raceGrace,
	})
	if err != nil {
		t.Fatal(err)
	}
	in.m = m
	mux := http.NewServeMux()
	mux.Handle("GET /op/{op}", m.Middleware(http.HandlerFunc(in.handle)))
	mux.Handle("GET /peek/{op}", m.With(sessions.Uncounted()).Middleware(http.HandlerFunc(in.handle)))
	mux.HandleFunc("GET /owner/destroy", in.destroyOwner)
	in.srv = httptest.NewServer(mux)
	t.Cleanup(in.srv.Close)
	return in
}

func parseInput(q url.Values) opInput {
	n, _ := strconv.Atoi(q.Get("n"))
	idle, _ := time.ParseDuration(q.Get("idle"))
	max, _ := time.ParseDuration(q.Get("max"))
	delta, _ := strconv.ParseInt(q.Get("delta"), 10, 64)
	return opInput{N: n, Value: q.Get("value"), Owner: q.Get("owner"), Life: lifeIn{idle, max}, Delta: delta}
}

func (in *raceInstance) handle(w http.ResponseWriter, r *http.Request) {
	s, ok := sessions.FromContext(r.Context())
	op, known := opByName(r.PathValue("op"))
	if !ok || !known || op.run == nil {
		http.Error(w, "no session or no such operation", http.StatusInternalServerError)
		return
	}
	a := opAnswer{ID: s.ID(), New: s.IsNew(), Views: s.Views(), Owner: s.Owner(), Seen: map[string]string{}}
	for _, k := range s.Keys() {
		if v, ok := s.Get(k); ok {
			a.Seen[k] = fmt.Sprint(v)
		}
	}
	err := op.run(r.Context(), s, parseInput(r.URL.Query()), &a)
	if err != nil {
		a.Err = err.Error()
	}
	b, _ := json.Marshal(a)
	w.Header().Set(raceAnswerHeader, string(b))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
	}
	// Nothing written on success: the middleware saves, then answers.
}

func (in *raceInstance) destroyOwner(w http.ResponseWriter, r *http.Request) {
	n, err := in.m.DestroyOwnerSessions(r.Context(), r.URL.Query().Get("owner"))
	a := opAnswer{Count: int64(n)}
	if err != nil {
		a.Err = err.Error()
	}
	b, _ := json.Marshal(a)
	w.Header().Set(raceAnswerHeader, string(b))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// raceVisitor is a browser: a cookie jar of one cookie, shared by the
// workers that act as its tabs.
type raceVisitor struct {
	mu     sync.Mutex
	cookie string
	old    []string // every cookie it had before, for tabs that replay one
}

func (v *raceVisitor) get() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cookie
}

func (v *raceVisitor) set(c string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cookie != "" && v.cookie != c {
		v.old = append(v.old, v.cookie)
	}
	v.cookie = c
}

// stale returns one of the visitor's earlier cookies, "" if none: what a
// tab left open, a copied link or a thief sends after the session ended.
func (v *raceVisitor) stale(rng *rand.Rand) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.old) == 0 {
		return ""
	}
	return v.old[len(v.old)-1-rng.IntN(min(len(v.old), 3))]
}

// raceHistory runs one seeded history and returns its calls.
type raceHistory struct {
	t         *testing.T
	seed      uint64
	base      time.Time
	clock     *fakeClock
	instances []*raceInstance
	visitors  []*raceVisitor
	client    *http.Client
	next      atomic.Int64
	mu        sync.Mutex
	calls     []*call
}

func (h *raceHistory) record(c *call) {
	h.mu.Lock()
	h.calls = append(h.calls, c)
	h.mu.Unlock()
}

func (h *raceHistory) newCall(worker int, op raceOp) *call {
	return &call{N: int(h.next.Add(1)), Worker: worker, Op: op.name, Eff: op.eff}
}

// do sends one operation as a request to an instance, with a visitor's
// cookie, and records what came back; drop arms the instance's proxy
// first.
// A replay sends one of the visitor's earlier cookies, and keeps nothing
// of the answer.
func (h *raceHistory) do(rng *rand.Rand, worker int, op raceOp, instance, visitor int, drop, replay bool) {
	h.doWith(rng, worker, op, instance, visitor, drop, replay, nil)
}

// doWith is do, with the drawn inputs changed by with, if not nil.
func (h *raceHistory) doWith(rng *rand.Rand, worker int, op raceOp, instance, visitor int, drop, replay bool, with func(*opInput)) {
	c := h.newCall(worker, op)
	if op.eff&effStep != 0 {
		// Short steps, steps within the idle timeout (which end a session
		// whose last slide was lost, but not one that was used), steps past
		// it, and past the lifetime.
		c.Step = []time.Duration{time.Duration(1+rng.IntN(15)) * time.Second, time.Duration(20+rng.IntN(31)) * time.Second, time.Duration(61+rng.IntN(15)) * time.Second, raceMax}[pick(rng, 50, 25, 20, 5)]
		c.Start, c.FakeStart = time.Since(h.base), h.clock.since()
		h.clock.step(c.Step)
		c.End, c.FakeEnd, c.Status, c.Ran = time.Since(h.base), h.clock.since(), 200, true
		h.record(c)
		return
	}
	in := opInput{N: c.N}
	if op.prepare != nil {
		op.prepare(rng, &in)
	}
	if with != nil {
		with(&in)
	}
	c.Value, c.Owner, c.Life, c.Delta = in.Value, in.Owner, in.Life, in.Delta
	c.Instance, c.Visitor = instance, visitor
	inst, v := h.instances[c.Instance], h.visitors[c.Visitor]
	q := url.Values{"n": {strconv.Itoa(in.N)}}
	if in.Value != "" {
		q.Set("value", in.Value)
	}
	if in.Owner != "" {
		q.Set("owner", in.Owner)
	}
	if op.eff&effSetLifetime != 0 {
		q.Set("idle", in.Life.Idle.String())
		q.Set("max", in.Life.Max.String())
	}
	if in.Delta != 0 {
		q.Set("delta", strconv.FormatInt(in.Delta, 10))
	}
	path := "/op/" + op.name
	if op.name == "peek" {
		path = "/peek/" + op.name
	}
	if op.eff&effDestroyOwner != 0 {
		path = "/owner/destroy"
	}
	req, _ := http.NewRequest(http.MethodGet, inst.srv.URL+path+"?"+q.Encode(), nil)
	if op.eff&effDestroyOwner == 0 {
		c.Sent = v.get()
		if replay {
			if old := v.stale(rng); old != "" {
				c.Sent, c.Replay = old, true
			}
		}
		if c.Sent != "" {
			req.Header.Set("Cookie", cookieName+"="+c.Sent)
		}
	}
	if drop && inst.proxy != nil {
		inst.proxy.DropNextAnswer()
	}
	c.Start, c.FakeStart = time.Since(h.base), h.clock.since()
	resp, err := h.client.Do(req)
	c.End, c.FakeEnd = time.Since(h.base), h.clock.since()
	if err != nil {
		c.Err = "no answer: " + err.Error()
		h.record(c)
		return
	}
	resp.Body.Close()
	c.Status = resp.StatusCode
	if raw := resp.Header.Get(raceAnswerHeader); raw != "" {
		var a opAnswer
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			h.t.Errorf("#%d: answer %q: %v", c.N, raw, err)
		}
		c.Ran = true
		c.ID, c.New, c.Views, c.Seen = a.ID, a.New, a.Views, a.Seen
		c.Popped, c.PopOK, c.NewID, c.Count, c.Flashes, c.SeenOwner, c.Err = a.Popped, a.PopOK, a.NewID, a.Count, a.Flashes, a.Owner, a.Err
	}
	for _, ck := range resp.Cookies() {
		if ck.Name != cookieName || op.eff&effDestroyOwner != 0 || c.Replay {
			continue
		}
		if ck.MaxAge < 0 {
			c.Cleared = true
			v.set("")
		} else {
			c.SetCookie = ck.Value
			v.set(ck.Value)
		}
	}
	h.record(c)
}

// step draws what a worker does next: one request, a tab burst or a login
// rush (see tabBurstRate), and sends it.
func (h *raceHistory) step(rng *rand.Rand, worker int, weights, bursts []int) {
	inst, vis := len(h.instances), len(h.visitors)
	switch x := rng.Float64(); {
	case x < loginRushRate:
		// Logins of one owner by different visitors on different
		// instances, at once.
		login, _ := opByName("login")
		owner := raceOwners[rng.IntN(len(raceOwners))]
		n := 2 + rng.IntN(2)
		vs := rng.Perm(vis)[:n]
		is := rng.Perm(inst)
		h.together(rng, n, func(i int, r *rand.Rand) {
			h.doWith(r, worker, login, is[i%inst], vs[i], false, false, func(in *opInput) { in.Owner = owner })
		})
	case x < loginRushRate+tabBurstRate:
		i, v := rng.IntN(inst), rng.IntN(vis)
		n := 2 + rng.IntN(3)
		ops := make([]raceOp, n)
		for j := range ops {
			ops[j] = raceOps[pick(rng, bursts...)]
		}
		h.together(rng, n, func(j int, r *rand.Rand) {
			h.do(r, worker, ops[j], i, v, false, r.Float64() < replayRate/3)
		})
	default:
		op := raceOps[pick(rng, weights...)]
		h.do(rng, worker, op, rng.IntN(inst), rng.IntN(vis), rng.Float64() < proxyDropRate, rng.Float64() < replayRate)
	}
}

// together runs f for n members at once, each with a random source of its
// own drawn from rng, and waits for all of them.
func (h *raceHistory) together(rng *rand.Rand, n int, f func(i int, r *rand.Rand)) {
	var wg sync.WaitGroup
	for i := range n {
		r := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		wg.Go(func() { f(i, r) })
	}
	wg.Wait()
}

// pick returns an index drawn by the weights.
func pick(rng *rand.Rand, weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// raceResult sums up one history.
type raceResult struct {
	seed                  uint64
	calls                 []*call
	lostInjected, dropped int64
	violations            []violation
	checked               map[string]int
}

func runRaceHistory(t *testing.T, b raceBackend, seed uint64, size raceSize) raceResult {
	var project string
	if b.memory == nil {
		project = emulator.ProjectID(t)
	}
	h := &raceHistory{t: t, seed: seed, clock: newFakeClock(), client: &http.Client{Timeout: 30 * time.Second}}
	for i := range 3 {
		h.instances = append(h.instances, startRaceInstance(t, b, project, h.clock, seed*31+uint64(i), raceRefuses(seed)))
	}
	for range size.visitors {
		h.visitors = append(h.visitors, &raceVisitor{})
	}
	var weights, bursts []int
	for _, op := range raceOps {
		weights, bursts = append(weights, op.weight), append(bursts, op.burst)
	}
	h.base = time.Now()
	var wg sync.WaitGroup
	for w := range size.workers {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		n := size.ops / size.workers
		wg.Go(func() {
			for range n {
				h.step(rng, w, weights, bursts)
			}
		})
	}
	wg.Wait()
	// Quiet: every visitor's session read once more on every instance.
	view, _ := opByName("view")
	rng := rand.New(rand.NewPCG(seed, 1<<32))
	for v := range h.visitors {
		for i := range h.instances {
			h.do(rng, -1, view, i, v, false, false)
		}
	}
	defer h.client.CloseIdleConnections()
	res := raceResult{seed: seed, calls: h.calls}
	slices.SortFunc(res.calls, func(a, b *call) int { return a.N - b.N })
	for _, in := range h.instances {
		res.lostInjected += in.injected()
		res.dropped += in.drops()
	}
	res.violations, res.checked = checkHistory(model{Idle: raceIdle, Max: raceMax, Cap: raceCap, Refuse: raceRefuses(seed), Grace: raceGrace}, res.calls)
	if len(res.violations) > 0 {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("race-history-%s-%d.txt", b.name, seed))
		var b strings.Builder
		for _, c := range res.calls {
			b.WriteString(c.String() + "\n")
		}
		b.WriteString("\nViolations:\n")
		for _, v := range res.violations {
			b.WriteString(v.String() + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err == nil {
			t.Logf("the whole history and every violation: %s", path)
		}
		for i, in := range h.instances {
			t.Logf("instance %d logs (tail):\n%s", i, tail(in.logs.String(), 15))
		}
	}
	return res
}

func TestRaceHistories(t *testing.T) {
	size := raceSizes()
	x := rep.row(t, "9. Races and lost answers", "3 in-process instances, Firestore and memory stores")
	var seeds []uint64
	if *seedFlag != 0 {
		seeds = []uint64{*seedFlag}
	} else {
		base := rand.Uint64() >> 16
		for i := range size.histories {
			seeds = append(seeds, base+uint64(i))
		}
	}
	var total struct {
		calls, ok, unavailable, other, lost, dropped, histories int
		byInv, checked, byKind                                  map[string]int
		failing                                                 []string
	}
	total.byInv, total.checked, total.byKind = map[string]int{}, map[string]int{}, map[string]int{}
	run := func(t *testing.T, b raceBackend, seed uint64) {
		res := runRaceHistory(t, b, seed, size)
		total.histories++
		total.calls += len(res.calls)
		total.lost += int(res.lostInjected)
		total.dropped += int(res.dropped)
		for _, c := range res.calls {
			switch {
			case c.Eff&effStep != 0:
			case c.Status == 200:
				total.ok++
			case c.Status == 503:
				total.unavailable++
			default:
				total.other++
			}
		}
		t.Logf("%s seed %d: %d calls, %d answers lost by the faults, %d dropped by the proxy, %d violations", b.name, seed, len(res.calls), res.lostInjected, res.dropped, len(res.violations))
		var obligations []string
		for _, k := range slices.Sorted(maps.Keys(res.checked)) {
			obligations = append(obligations, fmt.Sprintf("%s: %d", k, res.checked[k]))
			total.checked[k] += res.checked[k]
		}
		t.Logf("checked:\n  %s", strings.Join(obligations, "\n  "))
		if len(res.violations) == 0 {
			return
		}
		counts := map[string]int{}
		shown := map[string]int{}
		var sb strings.Builder
		for _, v := range res.violations {
			counts[v.Inv]++
			total.byInv[v.Inv]++
			total.byKind[b.name+": invariant "+v.Inv+", "+v.Kind]++
			if shown[v.Inv+v.Kind]++; shown[v.Inv+v.Kind] <= 2 {
				sb.WriteString("  " + v.String() + "\n")
			}
		}
		var sum []string
		for _, inv := range slices.Sorted(maps.Keys(counts)) {
			sum = append(sum, fmt.Sprintf("invariant %s: %d", inv, counts[inv]))
		}
		total.failing = append(total.failing, fmt.Sprintf("%s %d (%s)", b.name, seed, strings.Join(sum, ", ")))
		t.Errorf("%s seed %d: %d violations (%s); replay with -run 'TestRaceHistories/%s' -seed %d; the first two of each kind:\n%s",
			b.name, seed, len(res.violations), strings.Join(sum, ", "), b.name, seed, sb.String())
	}
	// The memory store first: it needs no emulator.
	t.Run("memory", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				run(t, raceBackend{name: "memory", memory: sessions.NewMemoryStore()}, seed)
			})
		}
	})
	t.Run("firestore", func(t *testing.T) {
		host := emulator.Require(t)
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				run(t, raceBackend{name: "firestore", host: host}, seed)
			})
		}
	})
	if len(total.byKind) > 0 {
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(total.byKind)) {
			kinds = append(kinds, fmt.Sprintf("%s: %d", k, total.byKind[k]))
		}
		t.Logf("violations by kind:\n  %s", strings.Join(kinds, "\n  "))
	}
	x.update(func(x *row) {
		x.Requests, x.OK, x.Unavailable, x.Other = total.calls, total.ok, total.unavailable, total.other
		var inv []string
		for _, k := range slices.Sorted(maps.Keys(total.byInv)) {
			inv = append(inv, fmt.Sprintf("%s: %d", k, total.byInv[k]))
		}
		var checked []string
		for _, k := range slices.Sorted(maps.Keys(total.checked)) {
			checked = append(checked, fmt.Sprintf("%d %s", total.checked[k], k[strings.Index(k, ": ")+2:]))
		}
		violations := "none"
		if len(inv) > 0 {
			violations = strings.Join(inv, ", ") + "; failing seeds " + strings.Join(total.failing, "; ")
		}
		x.Notes = fmt.Sprintf("%d histories (each seed on Firestore and on the memory store) of %d operations by %d workers on %d visitors, 2 owners, at most %d sessions an owner (extra logins refused for odd seeds, evicting the least recently used otherwise); %.0f%% of steps a burst of 2-4 requests of one visitor to one instance, %.0f%% a rush of logins of one owner; faults: %d answers replaced by errors (%.0f%% of store calls, half of them after 20-200 ms), %d dropped with a reset (Firestore's proxy, %.0f%% of requests); checked %s; violations by invariant: %s",
			total.histories, size.ops, size.workers, size.visitors, raceCap, tabBurstRate*100, loginRushRate*100, total.lost, lostAnswerRate*100, total.dropped, proxyDropRate*100, strings.Join(checked, ", "), violations)
	})
}
