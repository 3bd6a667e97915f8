package sessions

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/justinas/alice"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestTutorialFlow(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		h := newManager(t, st, Config{}).Middleware(greet)
		ann := &visitor{t: t, h: h}
		first := ann.get("/")
		if first.code != 200 || views(t, first.body) != 1 || first.cookie == nil {
			t.Fatalf("first visit: %d %q cookie %v", first.code, first.body, first.cookie)
		}
		if !slices.Contains(greetings, greeting(first.body)) {
			t.Errorf("greeting %s is not one of the tutorial's", greeting(first.body))
		}
		second := ann.get("/")
		if views(t, second.body) != 2 || greeting(second.body) != greeting(first.body) {
			t.Errorf("second visit: %q after %q", second.body, first.body)
		}
		if second.cookie != nil {
			t.Errorf("second visit sets cookie %v; the cookie is sent only when it changes", second.cookie)
		}
		bob := &visitor{t: t, h: h}
		other := bob.get("/")
		if views(t, other.body) != 1 || bob.id == ann.id {
			t.Errorf("new visitor: %q, id %s (ann %s)", other.body, bob.id, ann.id)
		}
	})
}

func TestConcurrentViewsOfOneSession(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		h := newManager(t, st, Config{}).Middleware(greet)
		v := &visitor{t: t, h: h}
		v.get("/")
		const n = 48
		counts := make([]int, n)
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: v.id})
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				statuses[i] = w.Code
				fmt.Sscanf(w.Body.String(), "%d views", &counts[i])
			})
		}
		wg.Wait()
		for i, c := range statuses {
			if c != 200 {
				t.Errorf("request %d: status %d", i, c)
			}
		}
		want := make([]int, n)
		for i := range want {
			want[i] = i + 2
		}
		if got := sortedCopy(counts); !slices.Equal(got, want) {
			t.Errorf("view counts = %v, want each of 2..%d once", got, n+1)
		}
		if last := views(t, v.get("/").body); last != n+2 {
			t.Errorf("stored count after %d concurrent views: next view is %d, want %d", n, last, n+2)
		}
	})
}

func TestConcurrentChangesToDifferentKeysBothSurvive(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		// Both requests load the session before either saves.
		var loaded sync.WaitGroup
		loaded.Add(2)
		set := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			if k := r.URL.Query().Get("k"); k != "" {
				loaded.Done()
				loaded.Wait()
				if err := s.Set(k, "v-"+k); err != nil {
					t.Error(err)
				}
			}
			a, _ := s.GetString("a")
			b, _ := s.GetString("b")
			fmt.Fprintf(w, "%d a=%s b=%s", s.Views(), a, b)
		})
		h := newManager(t, st, Config{}).Middleware(set)
		v := &visitor{t: t, h: h}
		v.get("/")
		var wg sync.WaitGroup
		for _, k := range []string{"a", "b"} {
			wg.Go(func() {
				if res := do(t, h, "GET", "/?k="+k, DefaultCookieName+"="+v.id); res.code != 200 {
					t.Errorf("set %s: %d", k, res.code)
				}
			})
		}
		wg.Wait()
		if got := v.get("/").body; got != "4 a=v-a b=v-b" {
			t.Errorf("after concurrent sets: %q, want %q", got, "4 a=v-a b=v-b")
		}
	})
}

// The cookie values a visitor might send to reach another document, or to
// break the server. None may reach a document path.
var hostileCookies = []string{
	"",
	"/",
	"a/b",
	".",
	"..",
	"__x__",
	"__name__",
	strings.Repeat("a", 4000),
	strings.ToUpper(uuid.NewString()),
	"../" + uuid.NewString()[3:],
	"sessions/" + uuid.NewString(),
	uuid.NewString() + "/x",
	uuid.NewString()[:35] + "\x00",
	uuid.NewString()[:35] + "\x7f",
	"{" + uuid.NewString() + "}",
	"urn:uuid:" + uuid.NewString(),
	strings.ReplaceAll(uuid.NewString(), "-", ""),
	uuid.Must(uuid.NewUUID()).String(), // version 1
	"00000000-0000-0000-0000-000000000000",
	"%2F..%2F",
	" " + uuid.NewString()[1:],
	"\xff\xfe" + uuid.NewString()[2:],
}

func TestHostileCookiesGetAFreshServerID(t *testing.T) {
	check := func(t *testing.T, h http.Handler) []string {
		var ids []string
		for _, value := range hostileCookies {
			res := do(t, h, "GET", "/", DefaultCookieName+"="+value)
			if res.code != 200 || views(t, res.body) != 1 {
				t.Errorf("cookie %q: %d %q, want a new session", truncate(value, 50), res.code, res.body)
				continue
			}
			if res.cookie == nil || res.cookie.Value == value {
				t.Errorf("cookie %q: session cookie %v, want a fresh id", truncate(value, 50), res.cookie)
				continue
			}
			if _, ok := parseID(res.cookie.Value); !ok {
				t.Errorf("server issued malformed id %q", res.cookie.Value)
			}
			ids = append(ids, res.cookie.Value)
		}
		return ids
	}
	t.Run("memory", func(t *testing.T) {
		st := NewMemoryStore()
		ids := check(t, newManager(t, st, Config{}).Middleware(greet))
		if st.Len() != len(ids) {
			t.Errorf("%d sessions stored, want %d", st.Len(), len(ids))
		}
	})
	t.Run("firestore", func(t *testing.T) {
		st, project := firestoreStore(t, FirestoreConfig{})
		ids := check(t, newManager(t, st, Config{}).Middleware(greet))
		var want []string
		for _, id := range ids {
			want = append(want, docName(id))
		}
		slices.Sort(want)
		if got := documents(t, project); !slices.Equal(got, want) {
			t.Errorf("documents = %q\nwant only the server's ids %q", got, want)
		}
	})
}

func TestUnknownWellFormedIDGetsANewID(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		h := newManager(t, st, Config{}).Middleware(greet)
		chosen := uuid.NewString()
		res := do(t, h, "GET", "/", DefaultCookieName+"="+chosen)
		if res.code != 200 || views(t, res.body) != 1 || res.cookie == nil || res.cookie.Value == chosen {
			t.Fatalf("unknown id: %d %q cookie %v; want a new session under a new id", res.code, res.body, res.cookie)
		}
		// The visitor's choice did not become a session: no fixation.
		again := do(t, h, "GET", "/", DefaultCookieName+"="+chosen)
		if again.cookie.Value == chosen || views(t, again.body) != 1 {
			t.Errorf("chosen id became a session: %q", again.body)
		}
	})
}

func TestExpiry(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		m := newManager(t, st, Config{Lifetime: Lifetime{Idle: time.Hour, Max: 3 * time.Hour}})
		now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
		m.now = func() time.Time { return now }
		h := m.Middleware(greet)
		v := &visitor{t: t, h: h}
		v.get("/")
		first := v.id

		now = now.Add(59 * time.Minute) // within the idle timeout: same session, expiry slides
		if res := v.get("/"); views(t, res.body) != 2 || v.id != first {
			t.Fatalf("visit within idle timeout: %q, id changed %v", res.body, v.id != first)
		}
		now = now.Add(59 * time.Minute)
		if res := v.get("/"); views(t, res.body) != 3 || v.id != first {
			t.Fatalf("visit within the slid idle timeout: %q", res.body)
		}
		now = now.Add(61 * time.Minute) // idle too long
		if res := v.get("/"); views(t, res.body) != 1 || v.id == first {
			t.Fatalf("visit after idle timeout: %q, same id %v; want a new session", res.body, v.id == first)
		}

		second := v.id
		for range 5 { // busy, but past the absolute lifetime
			now = now.Add(50 * time.Minute)
			v.get("/")
		}
		if v.id == second {
			t.Errorf("session outlived its 3h lifetime")
		}
	})
}

func TestExpiredDocumentIsANewSession(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		id := newID()
		now := storeNow()
		rec := testRecord(now.Add(-2 * time.Hour))
		if _, err := st.Commit(context.Background(), createMutation(Handle(id), rec)); err != nil { // expired an hour ago
			t.Fatal(err)
		}
		res := do(t, newManager(t, st, Config{}).Middleware(greet), "GET", "/", DefaultCookieName+"="+id)
		if res.code != 200 || views(t, res.body) != 1 || res.cookie.Value == id {
			t.Errorf("expired session: %d %q id reused %v", res.code, res.body, res.cookie.Value == id)
		}
	})
}

func TestRenew(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		var renewErr error
		h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			switch r.URL.Path {
			case "/login":
				s.Set("user", "ada")
				renewErr = s.Renew(r.Context())
			case "/late":
				io.WriteString(w, "written ")
				renewErr = s.Renew(r.Context())
			}
			u, _ := s.GetString("user")
			fmt.Fprintf(w, "%d %s", s.Views(), u)
		}))
		v := &visitor{t: t, h: h}
		v.get("/")
		before := v.id
		res := v.get("/login")
		if renewErr != nil || res.body != "2 ada" || v.id == before {
			t.Fatalf("login: %v %q, id renewed %v", renewErr, res.body, v.id != before)
		}
		if res := v.get("/"); res.body != "3 ada" {
			t.Errorf("after renew: %q, want views and values kept", res.body)
		}
		if res := do(t, h, "GET", "/", DefaultCookieName+"="+before); res.body != "1 " {
			t.Errorf("old id after renew: %q, want a new empty session", res.body)
		}
		after := v.id
		v.get("/late")
		if !errors.Is(renewErr, ErrHeadersWritten) || v.id != after {
			t.Errorf("renew after writing: %v, id changed %v", renewErr, v.id != after)
		}
	})
}

func TestDestroy(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			if r.URL.Path == "/logout" {
				if err := s.Destroy(r.Context()); err != nil {
					t.Error(err)
				}
				if err := s.Set("k", "v"); !errors.Is(err, ErrInactive) {
					t.Errorf("Set after Destroy: %v, want ErrInactive", err)
				}
			}
			greet(w, r)
		}))
		v := &visitor{t: t, h: h}
		v.get("/")
		v.get("/")
		old := v.id
		res := do(t, h, "GET", "/logout", DefaultCookieName+"="+old)
		if res.cookie == nil || res.cookie.MaxAge >= 0 || res.cookie.Value != "" {
			t.Fatalf("logout cookie = %v, want an expired one", res.cookie)
		}
		if again := do(t, h, "GET", "/", DefaultCookieName+"="+old); views(t, again.body) != 1 || again.cookie.Value == old {
			t.Errorf("destroyed id still works: %q", again.body)
		}
	})
}

func TestCookieAttributes(t *testing.T) {
	res := do(t, newManager(t, NewMemoryStore(), Config{}).Middleware(greet), "GET", "/", "")
	c := res.cookie
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || !c.Secure || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.Domain != "" {
		t.Errorf("cookie %q lacks HttpOnly, Secure, Path=/, SameSite=Lax", res.header.Get("Set-Cookie"))
	}
	if c.MaxAge != int(defaultMax/time.Second) {
		t.Errorf("Max-Age = %d, want the lifetime %d", c.MaxAge, int(defaultMax/time.Second))
	}
	if got := res.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if !containsToken(res.header.Values("Vary"), "Cookie") {
		t.Errorf("Vary = %q, want Cookie", res.header.Values("Vary"))
	}

	if c.Name != "__Host-session_id" {
		t.Errorf("secure cookie named %q, want the __Host- name by default", c.Name)
	}

	res = do(t, newManager(t, NewMemoryStore(), Config{Insecure: true, Lifetime: Lifetime{Idle: time.Hour, Max: 2 * time.Hour}}).Middleware(greet), "GET", "/", "")
	if res.cookie == nil || res.cookie.Name != defaultPlainCookieName || res.cookie.Secure || res.cookie.MaxAge != 7200 {
		t.Errorf("Insecure, 2h lifetime: cookie %q, want session_id without Secure, Max-Age 7200", res.header.Get("Set-Cookie"))
	}
	res = do(t, newManager(t, NewMemoryStore(), Config{Domain: "example.com"}).Middleware(greet), "GET", "/", "")
	if res.cookie == nil || res.cookie.Name != defaultPlainCookieName || !res.cookie.Secure {
		t.Errorf("with a Domain: cookie %q, want session_id, Secure", res.header.Get("Set-Cookie"))
	}

	res = do(t, newManager(t, NewMemoryStore(), Config{Path: "/app", SameSite: http.SameSiteNoneMode, Partitioned: true}).Middleware(greet), "GET", "/", "")
	if c := res.cookie; c == nil || c.Name != defaultPlainCookieName || c.Path != "/app" || c.SameSite != http.SameSiteNoneMode || !c.Partitioned || !c.Secure {
		t.Errorf("Path /app, SameSite None, Partitioned: cookie %q", res.header.Get("Set-Cookie"))
	}
	res = do(t, newManager(t, NewMemoryStore(), Config{SameSite: http.SameSiteStrictMode}).Middleware(greet), "GET", "/", "")
	if c := res.cookie; c == nil || c.SameSite != http.SameSiteStrictMode || c.Name != DefaultCookieName {
		t.Errorf("SameSite Strict: cookie %q", res.header.Get("Set-Cookie"))
	}

	host := newManager(t, NewMemoryStore(), Config{CookieName: "__Host-sid"}).Middleware(greet)
	if res := do(t, host, "GET", "/", ""); res.cookie == nil || res.cookie.Name != "__Host-sid" || !res.cookie.Secure {
		t.Errorf("__Host- cookie: %q", res.header.Get("Set-Cookie"))
	}

	for name, cfg := range map[string]Config{
		"__Host- insecure":        {CookieName: "__Host-sid", Insecure: true},
		"__Host- with domain":     {CookieName: "__Host-sid", Domain: "example.com"},
		"__Host- with a path":     {CookieName: "__Host-sid", Path: "/app"},
		"SameSite None, insecure": {SameSite: http.SameSiteNoneMode, Insecure: true},
		"Partitioned, insecure":   {Partitioned: true, Insecure: true},
		"relative path":           {Path: "app"},
		"path with ;":             {Path: "/a;b"},
		"__Secure- insecure":      {CookieName: "__Secure-sid", Insecure: true},
		"bad name":                {CookieName: "a b;c"},
		"tiny idle timeout":       {Lifetime: Lifetime{Idle: time.Millisecond}},
		"tiny max lifetime":       {Lifetime: Lifetime{Max: time.Millisecond}},
		"negative idle timeout":   {Lifetime: Lifetime{Idle: -time.Hour}},
	} {
		if _, err := New(NewMemoryStore(), cfg); err == nil {
			t.Errorf("New accepted %s", name)
		}
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("New accepted a nil store")
	}
}

func TestCookieSentWhenHandlerFlushesFirst(t *testing.T) {
	m := newManager(t, NewMemoryStore(), Config{})
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		w.(http.Flusher).Flush()
		io.WriteString(w, "streamed")
		w.(http.Flusher).Flush()
		// A change made after the response began is still saved.
		s, _ := FromContext(r.Context())
		if err := s.Set("late", true); err != nil {
			t.Error(err)
		}
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if len(res.Cookies()) != 1 || string(body) != "streamed" {
		t.Fatalf("flushed response: cookies %v body %q", res.Cookies(), body)
	}
	rec, err := viewOf(context.Background(), m.store, res.Cookies()[0].Value, 1)
	if err != nil || rec.Values["late"] != true {
		t.Errorf("change after the first write was lost: %v %v", rec.Values, err)
	}
}

func TestWriterKeepsOptionalInterfaces(t *testing.T) {
	m := newManager(t, NewMemoryStore(), Config{})
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through Unwrap: %v", err)
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		buf.Flush()
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if string(body) != "hijacked" {
		t.Errorf("hijacked body = %q", body)
	}
}

func TestChangesAfterTheRequestFail(t *testing.T) {
	var kept *Session
	h := newManager(t, NewMemoryStore(), Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kept, _ = FromContext(r.Context())
	}))
	do(t, h, "GET", "/", "")
	if err := kept.Set("k", "v"); !errors.Is(err, ErrInactive) {
		t.Errorf("Set after the handler returned: %v, want ErrInactive", err)
	}
}

// countingStore counts the views and the other calls made to a Store.
type countingStore struct {
	Store
	updates, visits atomic.Int64
}

func (c *countingStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	switch {
	case isView(ms):
		c.visits.Add(1)
	case !ms[0].Create:
		c.updates.Add(1)
	}
	return c.Store.Commit(ctx, ms...)
}

func (c *countingStore) Get(ctx context.Context, key string) (Record, error) {
	c.updates.Add(1)
	return c.Store.Get(ctx, key)
}

func TestNoWriteWhenNothingChanged(t *testing.T) {
	st := &countingStore{Store: NewMemoryStore()}
	v := &visitor{t: t, h: newManager(t, st, Config{}).Middleware(greet)}
	for range 3 {
		v.get("/")
	}
	if n := st.updates.Load(); n != 0 {
		t.Errorf("%d updates for requests that changed nothing", n)
	}
	if n := st.visits.Load(); n != 2 {
		t.Errorf("%d visits for 2 returning views", n)
	}
}

// failingStore fails every call with err, or blocks until the deadline.
type failingStore struct {
	MemoryStore
	err   error
	block bool
}

func (f *failingStore) fail(ctx context.Context) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

func (f *failingStore) Get(ctx context.Context, key string) (Record, error) {
	return Record{}, f.fail(ctx)
}

func (f *failingStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	return nil, f.fail(ctx)
}

func TestStoreFailureIs503AndLogged(t *testing.T) {
	var logs bytes.Buffer
	var called atomic.Bool
	st := &failingStore{err: fmt.Errorf("%w: connection refused", ErrUnavailable)}
	h := newManager(t, st, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}).
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called.Store(true) }))
	for _, cookie := range []string{"", DefaultCookieName + "=" + uuid.NewString()} {
		res := do(t, h, "GET", "/", cookie)
		if res.code != 503 || res.cookie != nil || called.Load() {
			t.Errorf("cookie %q: %d, cookie %v, handler called %v; want 503, no cookie, not called", cookie, res.code, res.cookie, called.Load())
		}
		if strings.Contains(res.body, "connection refused") {
			t.Errorf("503 body leaks the cause: %q", res.body)
		}
	}
	if !strings.Contains(logs.String(), `"error_type":"unavailable"`) || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("log = %s, want an error with its kind", logs.String())
	}

	// The error handler is replaceable.
	custom := newManager(t, st, Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error handler got %v, want ErrUnavailable with its cause", err)
		}
		http.Error(w, "busy", http.StatusTooManyRequests)
	}}).Middleware(greet)
	if res := do(t, custom, "GET", "/", ""); res.code != 429 {
		t.Errorf("custom error handler: %d", res.code)
	}
}

func TestHangingStoreAnswersWithinTheDeadline(t *testing.T) {
	h := newManager(t, &failingStore{block: true}, Config{Timeout: 200 * time.Millisecond}).Middleware(greet)
	start := time.Now()
	res := do(t, h, "GET", "/", "")
	if res.code != 503 {
		t.Errorf("hanging store: %d, want 503", res.code)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("answered after %v; the timeout is 200ms", elapsed)
	}
}

func TestUnreachableFirestoreIs503WithinTheDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	conn, err := grpc.NewClient("passthrough:///"+dead, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenFirestore(context.Background(), "unreachable", FirestoreConfig{}, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const timeout = time.Second
	h := newManager(t, st, Config{Timeout: timeout}).Middleware(greet)
	for _, cookie := range []string{"", DefaultCookieName + "=" + uuid.NewString()} {
		start := time.Now()
		res := do(t, h, "GET", "/", cookie)
		elapsed := time.Since(start)
		if res.code != 503 || res.cookie != nil {
			t.Errorf("cookie %q: %d, cookie %v; want 503 without a cookie", cookie, res.code, res.cookie)
		}
		if elapsed > timeout+4*time.Second {
			t.Errorf("cookie %q: answered after %v, the store timeout is %v", cookie, elapsed, timeout)
		}
	}
}

// A save that fails before the handler wrote anything is answered as an
// error, not with the handler's 200: a session that ended meanwhile is 409
// (ErrInactive).
func TestSaveFailureBeforeWritingIsAnswered(t *testing.T) {
	st := NewMemoryStore()
	h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		s.Set("k", "v")
		deleteID(r.Context(), st, s.ID()) // the session vanishes before the save
	}))
	if res := do(t, h, "GET", "/", ""); res.code != http.StatusConflict {
		t.Errorf("lost save: %d, want 409", res.code)
	}
}

func TestAliceComposition(t *testing.T) {
	var order []string
	tag := func(name string) alice.Constructor {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, ok := FromContext(r.Context())
				order = append(order, fmt.Sprintf("%s:%v", name, ok))
				next.ServeHTTP(w, r)
			})
		}
	}
	m := newManager(t, NewMemoryStore(), Config{})
	h := alice.New(tag("outer"), m.Middleware, tag("inner")).Then(greet)
	res := do(t, h, "GET", "/", "")
	if res.code != 200 || views(t, res.body) != 1 {
		t.Fatalf("chain: %d %q", res.code, res.body)
	}
	if want := []string{"outer:false", "inner:true"}; !slices.Equal(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
}

func TestFromContextWithoutMiddleware(t *testing.T) {
	if s, ok := FromContext(context.Background()); ok || s != nil {
		t.Errorf("FromContext on a bare context = %v, %v", s, ok)
	}
}

func TestSaveFailureAfterWritingIsLogged(t *testing.T) {
	var logs bytes.Buffer
	st := NewMemoryStore()
	h := newManager(t, st, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}).
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "done")
			s, _ := FromContext(r.Context())
			s.Set("k", "v")
			deleteID(r.Context(), st, s.ID()) // the session vanishes before the save
		}))
	res := do(t, h, "GET", "/", "")
	if res.code != 200 || res.body != "done" {
		t.Errorf("response = %d %q, want the handler's", res.code, res.body)
	}
	if !strings.Contains(logs.String(), `"op":"save"`) || !strings.Contains(logs.String(), "session not found") {
		t.Errorf("lost save not logged: %s", logs.String())
	}
}
