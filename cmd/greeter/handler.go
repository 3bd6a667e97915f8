package main

import (
	"fmt"
	"html"
	"log/slog"
	"math/rand/v2"
	"net/http"

	"github.com/firestore-sessions/sessions"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// greetings are the tutorial's greetings; each session gets one at random.
var greetings = []string{"Hello World", "Hallo Welt", "Ciao Mondo", "Salut le Monde", "Hola Mundo"}

// greetingKey names the session value that holds the visitor's greeting.
const greetingKey = "greeting"

func randomGreeting() string { return greetings[rand.IntN(len(greetings))] }

// newHandler returns the greeter's routes, with sessions kept in store, and
// the Manager behind them, for the shutdown to wait for. adopt, when not
// nil, is the Manager's Config.Adopt: a new session takes over what it
// finds (see tutorial.go).
//
// Each request is an OpenTelemetry server span (otelhttp, with the global
// providers and propagators) that continues the trace of the request's
// headers; it wraps the sessions middleware, so the spans of the session's
// store calls are its children, and the middleware's log lines carry its
// context.
//
// The page, /, counts a view. /views shows the same page without counting
// one (an Uncounted route: one read of the store, no write), as an API that
// a page polls would. Other paths (such as the /favicon.ico that browsers
// ask for) get a plain 404, and methods other than GET and HEAD a 405 with
// an Allow header, both from the mux and without a session, so that
// neither counts as a view.
func newHandler(store sessions.Store, secure bool, logger *slog.Logger, adopt adoptFunc) (http.Handler, *sessions.Manager, error) {
	m, err := sessions.New(store, sessions.Config{
		// Off Google Cloud the greeter may be reached over plain HTTP by a
		// LAN address or a container's name, where clients drop a Secure
		// cookie.
		Insecure:   !secure,
		CookieName: cookieName(secure),
		Logger:     logger,
		// The greeting is stored with the new session, in the same write.
		OnCreate: func(r *http.Request, s *sessions.Session) error {
			return s.Set(greetingKey, randomGreeting())
		},
		Adopt: adopt,
	})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", m.Middleware(http.HandlerFunc(greet))) // GET also matches HEAD
	mux.Handle("GET /views", m.With(sessions.Uncounted()).Middleware(http.HandlerFunc(greet)))
	return otelhttp.NewHandler(mux, "greeter", otelhttp.WithSpanNameFormatter(spanName)), m, nil
}

// cookieName is the name of the session cookie: __Host-session_id where
// it is Secure (on Google Cloud), session_id elsewhere, where a __Host-
// cookie is not allowed. These are the library's defaults, named here so
// that the takeover of the tutorial's sessions knows whether its cookie
// shares the name.
func cookieName(secure bool) string {
	if secure {
		return sessions.DefaultCookieName
	}
	return "session_id"
}

// adoptFunc is the type of Config.Adopt.
type adoptFunc = func(r *http.Request) (sessions.Adoption, bool, error)

// spanName names a request's span by the route that served it, such as
// "GET /{$}", or by its method alone for a path without a route: otelhttp
// names it again once the mux has chosen the route.
func spanName(_ string, r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method
}

// greet writes the tutorial's page: the session's view count and greeting.
func greet(w http.ResponseWriter, r *http.Request) {
	s, ok := sessions.FromContext(r.Context())
	if !ok {
		http.Error(w, "500 internal server error: no session", http.StatusInternalServerError)
		return
	}
	greeting, ok := s.GetString(greetingKey)
	if !ok {
		// A session stored without one (by an older version of the app, say)
		// gets its greeting now, saved when this handler returns.
		greeting = randomGreeting()
		if err := s.Set(greetingKey, greeting); err != nil {
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<body>%d views for "%s"</body>`, s.Views(), html.EscapeString(greeting))
}
