package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	scs "github.com/alexedwards/scs/v2"
	"github.com/firestore-sessions/sessions"
	gorilla "github.com/gorilla/sessions"
)

// A contender builds a handler that does the benchmark's work: read one
// integer n from the visitor's session, store n+1, and answer
// "<body>{n+1}</body>". bare does the same without a session.
type contender struct {
	name    string
	handler func(tb testing.TB) http.Handler
}

var contenders = []contender{
	{"bare", bareHandler},
	{"ours", oursHandler},
	{"scs", scsHandler},
	{"gorilla", gorillaHandler},
}

func writeN(w http.ResponseWriter, n int64) {
	fmt.Fprintf(w, "<body>%d</body>", n)
}

// bareHandler answers as the others do, with no session: the baseline whose
// cost is subtracted from the others' to get their overhead.
func bareHandler(testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeN(w, 1)
	})
}

// oursHandler is this library's middleware with its memory store. Besides
// the integer it also counts the view (Session.Views), as it always does.
func oursHandler(tb testing.TB) http.Handler {
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		n, _ := s.GetInt("n")
		if err := s.Set("n", n+1); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeN(w, n+1)
	}))
}

// scsHandler is alexedwards/scs with its default in-memory store.
func scsHandler(testing.TB) http.Handler {
	sm := scs.New()
	return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n")
		sm.Put(r.Context(), "n", n+1)
		writeN(w, int64(n+1))
	}))
}

// gorillaHandler is gorilla/sessions with a CookieStore (the session lives
// in the signed cookie).
func gorillaHandler(testing.TB) http.Handler {
	store := gorilla.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "session")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		n, _ := s.Values["n"].(int)
		s.Values["n"] = n + 1
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeN(w, int64(n+1))
	})
}

// serve runs one request carrying cookie (none when empty) through h.
func serve(h http.Handler, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// visit serves one request and returns the body's integer and the Cookie
// header that the response asks the browser to send next time (cookie
// itself when the response sets none).
func visit(tb testing.TB, h http.Handler, cookie string) (int, string) {
	tb.Helper()
	w := serve(h, cookie)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("status %d: %s", res.StatusCode, body)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(string(body), "<body>"), "</body>"))
	if err != nil {
		tb.Fatalf("body %q: %v", body, err)
	}
	if cs := res.Cookies(); len(cs) > 0 {
		parts := make([]string, len(cs))
		for i, c := range cs {
			parts[i] = (&http.Cookie{Name: c.Name, Value: c.Value}).String()
		}
		cookie = strings.Join(parts, "; ")
	}
	return n, cookie
}

// TestContendersDoTheWork checks that every contender keeps the integer
// across requests, so that the benchmarks compare equal work.
func TestContendersDoTheWork(t *testing.T) {
	for _, c := range contenders[1:] {
		t.Run(c.name, func(t *testing.T) {
			h := c.handler(t)
			cookie := ""
			for want := 1; want <= 3; want++ {
				var n int
				n, cookie = visit(t, h, cookie)
				if n != want {
					t.Fatalf("visit %d: n = %d", want, n)
				}
				if cookie == "" {
					t.Fatalf("visit %d: no session cookie", want)
				}
			}
		})
	}
}

// BenchmarkSession serves one request per iteration, for a new visitor (no
// cookie: a session is created) and a returning one (the cookie of a session
// created in setup: the session is read and written back), through each
// contender. Overhead of a contender = its figures minus bare's.
func BenchmarkSession(b *testing.B) {
	for _, visitor := range []string{"new", "returning"} {
		for _, c := range contenders {
			b.Run("visitor="+visitor+"/lib="+c.name, func(b *testing.B) {
				h := c.handler(b)
				cookie := ""
				if visitor == "returning" && c.name != "bare" {
					_, cookie = visit(b, h, "")
				}
				b.ReportAllocs()
				for b.Loop() {
					if w := serve(h, cookie); w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		}
	}
}
