package sessions_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/justinas/alice"
)

// One Manager serves an app's pages (cookie, a session from the first
// view), its public pages (lazy: nothing stored for anonymous traffic) and
// its JSON API (a Bearer token): With chooses per route, and the routes
// share one coalescer, so a visitor's concurrent requests cost one store
// call per round whichever routes they take.
func ExampleManager_With() {
	store := sessions.NewMemoryStore()
	m, _ := sessions.New(store, sessions.Config{})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		fmt.Fprintf(w, "view %d", s.Views())
	})

	mux := http.NewServeMux()
	mux.Handle("/account", alice.New(m.Middleware).Then(page))
	mux.Handle("/", alice.New(m.With(sessions.Lazy()).Middleware).Then(page))
	mux.Handle("/api/", alice.New(m.With(sessions.Token("Authorization")).Middleware).Then(page))

	body, _ := visit(mux, "/", nil)
	fmt.Println("public page:", body, "- sessions stored:", store.Len())
	body, cookie := visit(mux, "/account", nil)
	fmt.Println("account page:", body, "- cookie:", cookie != nil)

	// An API client gets a token in the first answer, and sends it back.
	var token string
	for range 2 {
		r := httptest.NewRequest("GET", "/api/me", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if t := w.Header().Get("Session-Token"); t != "" {
			token = t
		}
		fmt.Println("API:", w.Body.String(), "- cookies:", len(w.Result().Cookies()))
	}
	// Output:
	// public page: view 0 - sessions stored: 0
	// account page: view 1 - cookie: true
	// API: view 1 - cookies: 0
	// API: view 2 - cookies: 0
}

// A Secure cookie set in answer to plain HTTP from another host never comes
// back: the Manager says so once, in its log, with what to set.
func ExampleConfig_insecure() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // for a stable output here
			}
			return a
		},
	}))
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{Logger: logger})
	h := m.Middleware(http.NotFoundHandler())
	for range 2 {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		r.RemoteAddr = "10.0.0.7:41000"
		h.ServeHTTP(httptest.NewRecorder(), r)
	}

	// For local development over http://, set Insecure (and no warning
	// comes: nor does one for requests from localhost).
	dev, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{Logger: logger, Insecure: true})
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	dev.Middleware(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// level=WARN msg="sessions: a Secure session cookie was set in answer to plain HTTP: browsers neither keep nor send back Secure cookies on http:// pages, so each of this client's requests starts a new session. Serve HTTPS; behind a proxy that terminates TLS, have it send X-Forwarded-Proto: https; for local development over plain HTTP, set Config.Insecure. Logged once." remote=10.0.0.7:41000 host=example.com path=/
}

// Cross-site request forgery: http.CrossOriginProtection (Go 1.25) refuses
// the unsafe requests (POST, PUT, DELETE...) that another site's page makes
// a browser send. Wrapped round the session middleware, it refuses them
// before any session work: no store call, no session, no cookie. Routes
// whose sessions travel in a token header need it less (a browser does not
// add the header by itself), but it costs them nothing.
func Example_crossOriginProtection() {
	store := sessions.NewMemoryStore()
	m, _ := sessions.New(store, sessions.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		_ = s.Set("cart_items", 1)
	})
	h := http.NewCrossOriginProtection().Handler(m.Middleware(mux))

	for _, site := range []string{"cross-site", "same-origin"} {
		r := httptest.NewRequest("POST", "/cart", nil)
		r.Header.Set("Sec-Fetch-Site", site) // as browsers send it
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(site, w.Code, "sessions:", store.Len())
	}
	// Output:
	// cross-site 403 sessions: 0
	// same-origin 200 sessions: 1
}

// Config.Lifetime is the lifetime of new sessions: here they end after 30
// idle minutes or 12 hours, whichever comes first, and the cookie ends with
// the browser. Session.SetLifetime gives one session another.
func ExampleConfig_lifetime() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{
		Lifetime: sessions.Lifetime{Idle: 30 * time.Minute, Max: 12 * time.Hour, BrowserSession: true},
	})
	_, c := visit(m.Middleware(http.NotFoundHandler()), "/", nil)
	fmt.Println("cookie Max-Age:", c.MaxAge)
	// Output:
	// cookie Max-Age: 0
}
