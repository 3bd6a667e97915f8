package sessions_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/firestore-sessions/sessions"
	"github.com/justinas/alice"
)

// The tutorial's page: a view count per visitor, with the greeting chosen
// when the session was created. In production, use the store of
// sessions.OpenFirestore instead of the memory store.
func Example() {
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{
		OnCreate: func(r *http.Request, s *sessions.Session) error {
			return s.Set("greeting", "Hallo Welt")
		},
	})
	if err != nil {
		panic(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		greeting, _ := s.GetString("greeting")
		fmt.Fprintf(w, "%d views for %q", s.Views(), greeting)
	})
	h := alice.New(m.Middleware).Then(page)

	var cookie *http.Cookie
	for range 2 {
		r := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if c := w.Result().Cookies(); len(c) > 0 { // sent when it changes
			cookie = c[0]
		}
		body, _ := io.ReadAll(w.Result().Body)
		fmt.Println(string(body))
	}
	// Output:
	// 1 views for "Hallo Welt"
	// 2 views for "Hallo Welt"
}

// Renew at login gives the session a new id, so an id known before login is
// worth nothing after it; Destroy at logout ends the session.
func ExampleSession_Renew() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.Set("user", "ada"); err != nil {
			http.Error(w, "bad session value", http.StatusInternalServerError)
			return
		}
		if err := s.Renew(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "welcome")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		if err := s.Destroy(r.Context()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "goodbye")
	})
	h := m.Middleware(mux)

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	fmt.Print(w.Body.String())
	// Output:
	// welcome
}

// Typed getters report a missing key or a value of another type with ok =
// false, instead of a zero value or a panic.
func ExampleSession_GetInt() {
	m, _ := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		n, _ := s.GetInt("cart_items") // 0, false for a new session
		if err := s.Set("cart_items", n+1); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, isString := s.GetString("cart_items")
		fmt.Println(n+1, isString)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// 1 false
}
