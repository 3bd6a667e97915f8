package sessions

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// gatedStore records the views each Visit counts and, once armed, holds
// the first Visit until the gate opens.
type gatedStore struct {
	Store
	mu      sync.Mutex
	counts  []int64       // views argument of each Visit since armed
	entered chan struct{} // closed when the held Visit is in the store
	gate    chan struct{} // the held Visit returns once it is closed
}

func (g *gatedStore) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.counts = nil
	g.entered, g.gate = make(chan struct{}), make(chan struct{})
}

func (g *gatedStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	if !isView(ms) {
		return g.Store.Commit(ctx, ms...)
	}
	g.mu.Lock()
	g.counts = append(g.counts, ms[0].AddViews)
	hold := len(g.counts) == 1 && g.gate != nil
	entered, gate := g.entered, g.gate
	g.mu.Unlock()
	if hold {
		close(entered)
		<-gate
	}
	return g.Store.Commit(ctx, ms...)
}

// queued returns how many requests of session id wait for m's next batch.
func queued(m *Manager, id string) int {
	m.visits.mu.Lock()
	defer m.visits.mu.Unlock()
	if q, ok := m.visits.queues[Handle(id)]; ok {
		return len(q.waiting)
	}
	return 0
}

func TestOneManagerServesCookieLazyAndTokenRoutes(t *testing.T) {
	mem := NewMemoryStore()
	st := &gatedStore{Store: mem}
	m := newManager(t, st, Config{})
	mux := http.NewServeMux()
	mux.Handle("/page", m.Middleware(greet))
	mux.Handle("/public", m.With(Lazy()).Middleware(greet))
	mux.Handle("/api", m.With(Token("Authorization")).Middleware(greet))

	// A new visitor of the lazy page costs nothing; of the API, gets a
	// token and no cookie; of the page, a cookie.
	if res := do(t, mux, "GET", "/public", ""); res.cookie != nil || mem.Len() != 0 {
		t.Fatalf("lazy page: cookie %v, %d sessions stored", res.cookie, mem.Len())
	}
	res := send(mux, "/api", "", "")
	if tok := res.Header.Get(tokenResponseHeader); !validID(tok) || len(res.Cookies()) != 0 {
		t.Fatalf("API: token %q, cookies %v", tok, res.Cookies())
	}
	page := do(t, mux, "GET", "/page", "")
	if page.cookie == nil || page.header.Get(tokenResponseHeader) != "" {
		t.Fatalf("page: cookie %v, headers %v", page.cookie, page.header)
	}
	id := page.cookie.Value
	cookie := DefaultCookieName + "=" + id

	// The session's concurrent requests through three routes are coalesced:
	// while the page's visit is in the store, the API's and the lazy page's
	// requests queue, and one store call counts both.
	st.arm()
	bodies := make([]string, 3)
	var wg sync.WaitGroup
	wg.Go(func() { bodies[0] = do(t, mux, "GET", "/page", cookie).body })
	<-st.entered
	wg.Go(func() {
		b, _ := io.ReadAll(send(mux, "/api", "Authorization", "Bearer "+id).Body)
		bodies[1] = string(b)
	})
	wg.Go(func() { bodies[2] = do(t, mux, "GET", "/public", cookie).body })
	for queued(m, id) < 2 {
		runtime.Gosched()
	}
	close(st.gate)
	wg.Wait()

	st.mu.Lock()
	counts := slices.Clone(st.counts)
	st.mu.Unlock()
	if !slices.Equal(counts, []int64{1, 2}) {
		t.Errorf("store visits counted %v views, want [1 2]: one call for the first request, one for the two queued", counts)
	}
	var seen []int
	for _, b := range bodies {
		seen = append(seen, views(t, b))
	}
	if got := sortedCopy(seen); !slices.Equal(got, []int{2, 3, 4}) {
		t.Errorf("views seen %v, want 2, 3 and 4", seen)
	}
}

func TestWithOptions(t *testing.T) {
	m := newManager(t, NewMemoryStore(), Config{})
	cases := []struct {
		name        string
		m           *Manager
		lazy        bool
		tokenHeader string
	}{
		{"defaults", m.With(), false, ""},
		{"lazy", m.With(Lazy()), true, ""},
		{"token", m.With(Token("authorization")), false, "Authorization"},
		{"in order", m.With(Token("X-Session"), Token("authorization"), Lazy()), true, "Authorization"},
		{"of a With", m.With(Lazy()).With(Token("X-Session")), true, "X-Session"},
	}
	for _, c := range cases {
		if c.m.cfg.Lazy != c.lazy || c.m.cfg.TokenHeader != c.tokenHeader {
			t.Errorf("%s: Lazy %v, TokenHeader %q; want %v, %q", c.name, c.m.cfg.Lazy, c.m.cfg.TokenHeader, c.lazy, c.tokenHeader)
		}
		if c.m.shared != m.shared {
			t.Errorf("%s: does not share the Manager's store and coalescer", c.name)
		}
	}
	if m.cfg.Lazy || m.cfg.TokenHeader != "" {
		t.Errorf("With changed the Manager itself: %+v", m.cfg)
	}
}

func TestTokenRefusesBadHeaders(t *testing.T) {
	for _, name := range []string{"", "a b", "Cookie", "set-cookie"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Token(%q) did not panic", name)
				}
			}()
			Token(name)
		}()
	}
}
