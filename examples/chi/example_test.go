package chiexample_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/firestore-sessions/sessions"
	"github.com/go-chi/chi/v5"
)

// newRouter is an app on chi: pages with a cookie session, an API with a
// token session (one Manager for both, through With), a health check with
// no session at all, and cross-site request forgery protection in front of
// everything.
func newRouter(m *sessions.Manager) http.Handler {
	r := chi.NewRouter()
	r.Use(http.NewCrossOriginProtection().Handler)

	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})
	r.Group(func(r chi.Router) {
		r.Use(m.Middleware)
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			s, _ := sessions.FromContext(r.Context())
			user, _ := s.GetString("user")
			fmt.Fprintf(w, "view %d, user %q", s.Views(), user)
		})
		r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
			s, _ := sessions.FromContext(r.Context())
			if err := s.Renew(r.Context()); err != nil {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			_ = s.Set("user", "ada")
			http.Redirect(w, r, "/", http.StatusSeeOther)
		})
	})
	r.Route("/api", func(r chi.Router) {
		r.Use(m.With(sessions.Token("Authorization")).Middleware)
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			s, _ := sessions.FromContext(r.Context())
			fmt.Fprintf(w, `{"views":%d}`, s.Views())
		})
	})
	return r
}

func Example() {
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	if err != nil {
		panic(err)
	}
	app := newRouter(m)

	var cookie *http.Cookie
	request := func(method, path string) *http.Response {
		r := httptest.NewRequest(method, path, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
		return w.Result()
	}
	body := func(res *http.Response) string {
		b := make([]byte, 100)
		n, _ := res.Body.Read(b)
		return string(b[:n])
	}

	fmt.Println(body(request("GET", "/")))
	request("POST", "/login")
	fmt.Println(body(request("GET", "/")))
	fmt.Println(body(request("GET", "/healthz")))
	// Output:
	// view 1, user ""
	// view 3, user "ada"
	// ok
}
