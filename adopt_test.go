package sessions

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// oldSystem is another session system's store, as Config.Adopt sees it:
// its sessions by the value of its cookie "legacy".
type oldSystem map[string]Adoption

func (o oldSystem) adopt(r *http.Request) (Adoption, bool, error) {
	c, err := r.Cookie("legacy")
	if err != nil {
		return Adoption{}, false, nil
	}
	switch c.Value {
	case "broken":
		return Adoption{}, false, errors.New("the old store failed")
	case "stale":
		return Adoption{Clear: &http.Cookie{Name: "legacy", Path: "/"}}, false, nil
	}
	a, ok := o[c.Value]
	return a, ok, nil
}

// A request without a session of the Manager's own takes over the
// session another system keeps for it: values, owner and view count, in
// the write that creates the new session, and the old cookie is expired.
func TestAdoptTakesOverAnotherSystemsSession(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		old := oldSystem{"abc": {
			Values: map[string]any{"greeting": "Ciao Mondo", "cart": []string{"apple"}},
			Owner:  "ada",
			Views:  41,
			Clear:  &http.Cookie{Name: "legacy", Path: "/"},
		}}
		counted := &hookStore{Store: st}
		m := newManager(t, counted, Config{Adopt: old.adopt})
		h := m.Middleware(greet)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: "legacy", Value: "abc"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		res := w.Result()
		if res.StatusCode != http.StatusOK || w.Body.String() != `42 views for "Ciao Mondo"` {
			t.Fatalf("adopting request: %d %q, want view 42 with the old greeting", res.StatusCode, w.Body.String())
		}
		var id string
		cleared := false
		for _, c := range res.Cookies() {
			switch {
			case c.Name == "legacy" && c.MaxAge < 0 && c.Path == "/":
				cleared = true
			case c.Name == DefaultCookieName:
				id = c.Value
			}
		}
		if !cleared || id == "" {
			t.Fatalf("cookies %v: want the old one expired and a session cookie", res.Cookies())
		}
		v := &visitor{t: t, h: h, id: id}
		if res := v.get("/"); res.body != `43 views for "Ciao Mondo"` {
			t.Errorf("next request: %q, want view 43", res.body)
		}
		s, err := m.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cart, _, err := GetAs[[]string](s, "cart"); err != nil || len(cart) != 1 || cart[0] != "apple" || s.Owner() != "ada" {
			t.Errorf("adopted session: cart %v (%v), owner %q", cart, err, s.Owner())
		}
		if list, err := m.OwnerSessions(context.Background(), "ada"); err != nil || len(list) != 1 {
			t.Errorf("the owner's sessions: %d (%v), want the adopted one", len(list), err)
		}
		// Nothing to adopt: a session of its own; a failure of the old
		// store is answered as an error.
		if res := do(t, h, http.MethodGet, "/", "legacy=unknown"); res.body != `1 views for ""` && !isGreeting(res.body) {
			t.Errorf("unknown legacy session: %q, want a session of its own", res.body)
		}
		if res := do(t, h, http.MethodGet, "/", "legacy=stale"); !strings.Contains(strings.Join(res.header.Values("Set-Cookie"), "\n"), "legacy=; Path=/; Max-Age=0") {
			t.Errorf("stale legacy cookie: Set-Cookie %q, want it expired", res.header.Values("Set-Cookie"))
		}
		if res := do(t, h, http.MethodGet, "/", "legacy=broken"); res.code != http.StatusInternalServerError {
			t.Errorf("failing Adopt: %d %q, want 500", res.code, res.body)
		}
	})
}

// isGreeting reports whether body is greet's page of a new session.
func isGreeting(body string) bool {
	for _, g := range greetings {
		if body == `1 views for "`+g+`"` {
			return true
		}
	}
	return false
}

// A lazy route stores an adopted session at once: the visitor had a
// session, and keeps it.
func TestAdoptOnLazyRoutes(t *testing.T) {
	st := NewMemoryStore()
	old := oldSystem{"abc": {Values: map[string]any{"user": "ada"}}}
	m := newManager(t, st, Config{Adopt: old.adopt, Lazy: true})
	res := do(t, m.Middleware(greet), http.MethodGet, "/", "legacy=abc")
	if res.cookie == nil || st.Len() != 1 {
		t.Errorf("lazy route with a legacy session: cookie %v, %d stored; want it adopted and stored", res.cookie, st.Len())
	}
	if res := do(t, m.Middleware(greet), http.MethodGet, "/", ""); res.cookie != nil || st.Len() != 1 {
		t.Errorf("lazy route without one: cookie %v, %d stored; want nothing", res.cookie, st.Len())
	}
}
