package sessions

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// loginPage signs the visitor in as ?user= on /login, with a 30-day
// remember-me lifetime, and shows the session on every page.
func loginPage(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		if r.URL.Path == "/login" {
			if err := s.Login(r.Context(), r.FormValue("user"), Lifetime{Idle: 2 * time.Hour, Max: 30 * 24 * time.Hour}); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
		}
		fmt.Fprintf(w, "%d views, owner %q, expires %s", s.Views(), s.Owner(), s.Expires().Format(time.RFC3339))
	})
}

// Login renews the id, binds the owner and sets the lifetime in one store
// write, and the next request sees all three.
func TestLoginOneWrite(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		counted := &hookStore{Store: st}
		m := newManager(t, counted, Config{Clock: func() time.Time { return now }})
		v := &visitor{t: t, h: m.Middleware(loginPage(t))}
		v.get("/")
		before := v.id
		counted.calls.Store(0)
		res := v.get("/login?user=ada")
		if res.code != http.StatusOK || v.id == before {
			t.Fatalf("login: %d %q, id renewed %v", res.code, res.body, v.id != before)
		}
		// The view, and the login: a read of the owner's list, one write.
		if n := counted.calls.Load(); n != 3 {
			t.Errorf("%d store calls for a view and a login, want 3", n)
		}
		if res.cookie.MaxAge != int((30 * 24 * time.Hour).Seconds()) {
			t.Errorf("cookie Max-Age = %d, want 30 days", res.cookie.MaxAge)
		}
		want := fmt.Sprintf(`3 views, owner "ada", expires %s`, now.Add(2*time.Hour).Format(time.RFC3339))
		if res := v.get("/"); res.body != want {
			t.Errorf("after login: %q, want %q", res.body, want)
		}
		old := do(t, m.Middleware(loginPage(t)), http.MethodGet, "/", DefaultCookieName+"="+before)
		if old.cookie == nil || old.cookie.Value == before {
			t.Errorf("the id from before the login still works: %q", old.body)
		}
	})
}

// MaxOwnerSessions ends the least recently used sessions of an owner at
// login, or refuses the login.
func TestMaxOwnerSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		for _, refuse := range []bool{false, true} {
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			m := newManager(t, st, Config{Clock: func() time.Time { return now }, MaxOwnerSessions: 2, RefuseExtraLogins: refuse})
			h := m.Middleware(loginPage(t))
			owner := fmt.Sprint("grace-", refuse, "-", newID())
			devices := make([]*visitor, 3)
			for i := range devices {
				now = now.Add(time.Minute)
				devices[i] = &visitor{t: t, h: h}
				res := devices[i].get("/login?user=" + owner)
				switch {
				case i < 2 && res.code != http.StatusOK:
					t.Fatalf("login %d: %d %q", i, res.code, res.body)
				case i == 2 && refuse && res.code != http.StatusConflict:
					t.Errorf("third login with RefuseExtraLogins: %d %q, want it refused", res.code, res.body)
				case i == 2 && !refuse && res.code != http.StatusOK:
					t.Errorf("third login: %d %q", res.code, res.body)
				}
			}
			list, err := m.OwnerSessions(t.Context(), owner)
			if err != nil || len(list) != 2 {
				t.Errorf("refuse %v: %d sessions of the owner (%v), want the cap 2", refuse, len(list), err)
			}
			// Ended: the first device's session, unless the third was refused.
			first := devices[0].get("/")
			if ended := first.cookie != nil; ended == refuse {
				t.Errorf("refuse %v: first device's session ended %v: %q", refuse, ended, first.body)
			}
		}
	})
}
