package gorillaexample_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/firestore-sessions/sessions"
	gsessions "github.com/gorilla/sessions"
)

// oldName names the app's gorilla session, and so its cookie.
const oldName = "app-session"

// adoptGorilla returns a Config.Adopt that takes over the visitor's gorilla
// session named name from old, the app's store before the move: the values
// under string keys (gorilla allows keys of any type; skip the others, or
// convert them), and "user" as the new session's owner. The answer expires
// the gorilla cookie.
//
// A request without a gorilla session adopts nothing: no cookie, or one
// that old cannot decode (forged, signed with other keys, past its
// MaxAge). A CookieStore fails only on such cookies; with a store that
// keeps its sessions on a server (a FilesystemStore, a Redis store),
// return its read failures as errors instead, so that the visitor gets a
// 503 and keeps the old session for the next try.
//
// Each value must be one that Session.Set accepts: gob gave them back as
// the types the old app stored. A value of another type fails the request.
func adoptGorilla(old gsessions.Store, name string) func(*http.Request) (sessions.Adoption, bool, error) {
	return func(r *http.Request) (sessions.Adoption, bool, error) {
		s, err := old.Get(r, name)
		if err != nil || s.IsNew {
			return sessions.Adoption{}, false, nil
		}
		a := sessions.Adoption{Values: make(map[string]any, len(s.Values))}
		for k, v := range s.Values {
			if k, ok := k.(string); ok {
				a.Values[k] = v
			}
		}
		if user, ok := s.Values["user"].(string); ok && user != "" {
			a.Owner = user
		}
		a.Clear = &http.Cookie{Name: name, Path: s.Options.Path, Domain: s.Options.Domain}
		return a, true, nil
	}
}

// cartPage shows the visitor's session: the view, the owner, the user and
// the cart.
func cartPage(w http.ResponseWriter, r *http.Request) {
	s, _ := sessions.FromContext(r.Context())
	user, _ := s.GetString("user")
	cart, _, _ := sessions.GetAs[[]string](s, "cart")
	fmt.Fprintf(w, "view %d, owner %q, user %q, cart %q", s.Views(), s.Owner(), user, cart)
}

func Example() {
	// The app's gorilla store, with its keys (from the app's secrets):
	// one to authenticate the cookie, one to encrypt it.
	old := gsessions.NewCookieStore([]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210"))

	// Before the move: the old app put the visitor's user and cart into
	// its gorilla session.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := old.Get(r, oldName)
	s.Values["user"] = "ada"
	s.Values["cart"] = []string{"tea", "scones"}
	if err := s.Save(r, w); err != nil {
		panic(err)
	}
	gorillaCookie := w.Result().Cookies()[0]

	// After the move: the app's pages behind the sessions middleware,
	// which takes over gorilla sessions.
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{Adopt: adoptGorilla(old, oldName)})
	if err != nil {
		panic(err)
	}
	app := m.Middleware(http.HandlerFunc(cartPage))
	visit := func(c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w
	}

	// The visitor comes back with the gorilla cookie, and keeps their cart.
	w = visit(gorillaCookie)
	fmt.Println(w.Body)
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		switch {
		case c.Name == oldName && c.MaxAge < 0:
			fmt.Println("the gorilla cookie is expired")
		case c.Name == sessions.DefaultCookieName:
			cookie = c
		}
	}
	// From then on the browser sends the new cookie only.
	fmt.Println(visit(cookie).Body)

	// Another visitor, with no gorilla cookie, starts afresh.
	fmt.Println(visit(nil).Body)
	// Output:
	// view 1, owner "ada", user "ada", cart ["tea" "scones"]
	// the gorilla cookie is expired
	// view 2, owner "ada", user "ada", cart ["tea" "scones"]
	// view 1, owner "", user "", cart []
}
