package sessions

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// accountPage signs in on /login, lists the owner's devices on /devices,
// and logs out everywhere on /logout-all.
func accountPage(t *testing.T, m *Manager) http.Handler {
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		switch r.URL.Path {
		case "/login":
			if err := s.Renew(r.Context()); err != nil {
				t.Errorf("Renew: %v", err)
			}
			if err := s.SetOwner(r.Context(), "ada"); err != nil {
				t.Errorf("SetOwner: %v", err)
			}
			_ = s.Set("agent", r.UserAgent())
		case "/devices":
			list, err := m.OwnerSessions(r.Context(), "ada")
			if err != nil {
				t.Errorf("OwnerSessions: %v", err)
			}
			var agents []string
			for handle, rec := range list {
				agent, _ := rec.Values["agent"].(string)
				if handle == s.Handle() {
					agent += "*"
				}
				agents = append(agents, agent)
			}
			fmt.Fprint(w, len(agents), " ", strings.Contains(strings.Join(agents, ","), "*"))
			return
		case "/logout-others":
			list, _ := m.OwnerSessions(r.Context(), "ada")
			var others []string
			for handle := range list {
				if handle != s.Handle() {
					others = append(others, handle)
				}
			}
			if _, err := m.DestroyOwnerSessions(r.Context(), "ada", others...); err != nil {
				t.Errorf("DestroyOwnerSessions: %v", err)
			}
		case "/logout-all":
			if n, err := m.DestroyOwnerSessions(r.Context(), "ada"); err != nil || n == 0 {
				t.Errorf("DestroyOwnerSessions = %d %v", n, err)
			}
			_ = s.Destroy(r.Context())
		}
		fmt.Fprintf(w, "%d views, owner %q", s.Views(), s.Owner())
	}))
}

// A user signed in on three devices, through two instances: each instance
// lists all three, "log out other devices" keeps only the current one, and
// "log out everywhere" ends it too.
func TestLogOutEverywhere(t *testing.T) {
	run := func(t *testing.T, a, b http.Handler) {
		devices := []*visitor{{t: t, h: a}, {t: t, h: b}, {t: t, h: a}}
		for _, d := range devices {
			d.get("/")
			d.get("/login")
		}
		devices[1].get("/") // each instance has a session of the owner cached
		if got := devices[0].get("/devices").body; got != "3 true" {
			t.Errorf("devices seen from instance a: %q, want 3 with this one marked", got)
		}
		if got := devices[1].get("/devices").body; got != "3 true" {
			t.Errorf("devices seen from instance b: %q", got)
		}
		devices[1].get("/logout-others")
		if got := devices[1].get("/devices").body; got != "1 true" {
			t.Errorf("after logging out the others: %q, want only this device", got)
		}
		for _, i := range []int{0, 2} {
			if got := devices[i].get("/").body; got != `1 views, owner ""` {
				t.Errorf("device %d after being logged out: %q, want a new anonymous session", i, got)
			}
		}
		devices[1].get("/logout-all")
		if got := devices[0].get("/devices").body; got != "0 false" {
			t.Errorf("after logging out everywhere: %q", got)
		}
	}
	t.Run("memory", func(t *testing.T) {
		h := accountPage(t, newManager(t, NewMemoryStore(), Config{}))
		run(t, h, h)
	})
	t.Run("firestore", func(t *testing.T) {
		stA, project := firestoreStore(t, FirestoreConfig{})
		stB := openStore(t, project, FirestoreConfig{})
		run(t, accountPage(t, newManager(t, stA, Config{})), accountPage(t, newManager(t, stB, Config{})))
	})
}

// Remember-me: a session's own lifetime moves the store's expiry and the
// cookie's Max-Age; a browser session's cookie has no Max-Age; later
// views slide by the session's own idle timeout.
func TestSessionLifetime(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		m := newManager(t, st, Config{Lifetime: Lifetime{Idle: time.Hour, Max: 2 * time.Hour}})
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			var err error
			switch r.URL.Path {
			case "/remember":
				err = s.SetLifetime(r.Context(), Lifetime{Idle: 30 * 24 * time.Hour, Max: 90 * 24 * time.Hour})
			case "/browser":
				err = s.SetLifetime(r.Context(), Lifetime{BrowserSession: true})
			case "/late":
				fmt.Fprint(w, "answered")
				if err := s.SetLifetime(r.Context(), Lifetime{}); err != ErrHeadersWritten {
					t.Errorf("SetLifetime after the answer: %v", err)
				}
				return
			}
			if err != nil {
				t.Errorf("SetLifetime: %v", err)
			}
			fmt.Fprintf(w, "%v %v", s.Expires().Sub(s.Created()).Round(time.Hour), s.Deadline().Sub(s.Created()))
		}))
		v := &visitor{t: t, h: h}
		v.get("/")
		res := v.get("/remember")
		if res.cookie == nil || res.cookie.MaxAge < 89*24*3600 {
			t.Fatalf("remember-me cookie %v, want Max-Age of 90 days", res.cookie)
		}
		if got := v.get("/").body; got != "720h0m0s 2160h0m0s" {
			t.Errorf("after remember-me, the stored expiry and deadline: %s", got)
		}
		w := &visitor{t: t, h: h}
		w.get("/")
		res = w.get("/browser")
		if res.cookie == nil || res.cookie.MaxAge != 0 || strings.Contains(res.header.Get("Set-Cookie"), "Max-Age") {
			t.Errorf("browser-session cookie %q, want no Max-Age", res.header.Get("Set-Cookie"))
		}
		if got := w.get("/").body; got != "1h0m0s 2h0m0s" {
			t.Errorf("browser session keeps the Manager's lifetime: %s", got)
		}
		w.get("/late")
	})
}
