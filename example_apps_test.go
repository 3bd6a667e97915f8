package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/firestore-sessions/sessions"
)

// Pages count views; assets, API calls and polling read the session
// without counting one: one read of the store, no write.
func ExampleUncounted() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		fmt.Fprintf(w, "view %d", s.Views())
	})
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", m.Middleware(show))
	mux.Handle("GET /api/", m.With(sessions.Uncounted()).Middleware(show))

	body, c := visit(mux, "/", nil)
	fmt.Println(body)
	body, _ = visit(mux, "/api/status", c)
	fmt.Println(body)
	body, _ = visit(mux, "/", c)
	fmt.Println(body)
	// Output:
	// view 1
	// view 1
	// view 2
}

// A handler answers an error of the library with the status it calls for,
// without knowing the store: 503 while the store is down or too slow, 409
// when the owner has too many sessions, and so on.
func ExampleStatusCode() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{MaxOwnerSessions: 1, RefuseExtraLogins: true})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.Login(r.Context(), r.FormValue("user"), sessions.Lifetime{}); err != nil {
			code := sessions.StatusCode(err)
			if errors.Is(err, sessions.ErrTooManySessions) {
				http.Error(w, "signed in elsewhere already", code)
				return
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
		fmt.Fprint(w, "welcome")
	}))
	body, _ := visit(h, "/login?user=ada", nil)
	fmt.Println(body)
	body, _ = visit(h, "/login?user=ada", nil)
	fmt.Print(body)
	body, _ = visit(h, "/login?user=%ff", nil)
	fmt.Print(body)
	// Output:
	// welcome
	// signed in elsewhere already
	// Bad Request
}

// "Log out my other devices": the phone's session ends, the laptop's goes
// on, and the phone's next page can say why.
func ExampleSession_DestroyOthers() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		_ = s.Login(r.Context(), "user-42", sessions.Lifetime{})
	})
	mux.HandleFunc("/logout-others", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		n, err := s.DestroyOthers(r.Context())
		if err != nil {
			http.Error(w, "try again", sessions.StatusCode(err))
			return
		}
		fmt.Fprintf(w, "logged out %d other devices", n)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if s.PreviousEnd() == sessions.EndedByLogout {
			fmt.Fprint(w, "you were signed out from another device")
			return
		}
		fmt.Fprintf(w, "signed in as %q", s.Owner())
	})
	h := m.Middleware(mux)

	_, phone := visit(h, "/login", nil)
	_, laptop := visit(h, "/login", nil)
	body, _ := visit(h, "/logout-others", laptop)
	fmt.Println(body)
	body, _ = visit(h, "/", laptop)
	fmt.Println(body)
	body, _ = visit(h, "/", phone)
	fmt.Println(body)
	// Output:
	// logged out 1 other devices
	// signed in as "user-42"
	// you were signed out from another device
}

// With a cap of one session per user, a sign-in elsewhere ends the
// previous session, and its device is told why on its next page.
func ExampleSession_PreviousEnd() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{MaxOwnerSessions: 1})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if r.URL.Path == "/login" {
			_ = s.Login(r.Context(), "user-42", sessions.Lifetime{})
		}
		switch s.PreviousEnd() {
		case sessions.EndedByLimit:
			fmt.Fprint(w, "you were signed out because you signed in on another device")
		case sessions.EndedByLogout:
			fmt.Fprint(w, "you were signed out from another device")
		default:
			fmt.Fprintf(w, "owner %q", s.Owner())
		}
	}))
	_, first := visit(h, "/login", nil)
	visit(h, "/login", nil) // another device
	body, _ := visit(h, "/", first)
	fmt.Println(body)
	// Output:
	// you were signed out because you signed in on another device
}

// Ids that rotate: a session gets a new id once it has had its id for an
// hour, so that a stolen id stops working on its own. The requests the
// browser sent with the old id meanwhile keep working for RenewGrace.
func ExampleConfig_renewAfter() {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{
		RenewAfter: time.Hour,
		RenewGrace: 30 * time.Second,
		Clock:      func() time.Time { return now }, // a test's clock
	})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		fmt.Fprintf(w, "view %d", s.Views())
	}))
	_, old := visit(h, "/", nil)
	now = now.Add(time.Hour)
	body, renewed := visit(h, "/", old)
	fmt.Println(body, "new id:", renewed.Value != old.Value)
	body, _ = visit(h, "/", old) // a request sent before the new cookie arrived
	fmt.Println(body)
	now = now.Add(time.Minute)
	body, _ = visit(h, "/", old)
	fmt.Println(body, "(the old id is dead)")
	// Output:
	// view 2 new id: true
	// view 3
	// view 1 (the old id is dead)
}

// Moving from another session library without logging anyone out: a
// visitor who brings the old system's cookie, and no session of the
// Manager's, keeps their data in a new session. Here the old system is a
// map; examples/gorilla shows gorilla/sessions.
func ExampleConfig_adopt() {
	legacy := map[string]map[string]any{"old-123": {"theme": "dark"}}
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{
		Adopt: func(r *http.Request) (sessions.Adoption, bool, error) {
			c, err := r.Cookie("legacy_session")
			if err != nil || legacy[c.Value] == nil {
				return sessions.Adoption{}, false, nil
			}
			return sessions.Adoption{
				Values: legacy[c.Value],
				Clear:  &http.Cookie{Name: "legacy_session", Path: "/"},
			}, true, nil
		},
	})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		theme, _ := s.GetString("theme")
		fmt.Fprintf(w, "view %d, theme %q", s.Views(), theme)
	}))
	body, c := visit(h, "/", &http.Cookie{Name: "legacy_session", Value: "old-123"})
	fmt.Println(body)
	body, _ = visit(h, "/", c)
	fmt.Println(body)
	// Output:
	// view 1, theme "dark"
	// view 2, theme "dark"
}

// At graceful shutdown: stop serving, wait for the Manager's writes in the
// background, then close the store.
func ExampleManager_Shutdown() {
	store := sessions.NewMemoryStore() // or sessions.OpenFirestore's
	m, _ := sessions.New(store, sessions.Config{})
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: m.Middleware(http.NotFoundHandler())}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if err := m.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println("stopped")
	// Output:
	// stopped
}
