package sessions

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// The cookie lives until the session's deadline and is sent only when it
// changes: a new session, a Renew, a Destroy.
func TestCookieSentOnlyWhenItChanges(t *testing.T) {
	m := newManager(t, NewMemoryStore(), Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		switch r.URL.Path {
		case "/login":
			if err := s.Renew(r.Context()); err != nil {
				t.Error(err)
			}
		case "/logout":
			if err := s.Destroy(r.Context()); err != nil {
				t.Error(err)
			}
		}
	}))
	v := &visitor{t: t, h: h}
	res := v.get("/")
	if res.cookie == nil || res.cookie.MaxAge != int(defaultMax/time.Second) {
		t.Fatalf("new session: cookie %v, want one living the session's lifetime", res.cookie)
	}
	for range 2 {
		if res := v.get("/"); res.cookie != nil || res.header.Get("Cache-Control") != "no-store" || !containsToken(res.header.Values("Vary"), "Cookie") {
			t.Errorf("returning view: cookie %v, Cache-Control %q, Vary %q; want no cookie, no-store, Vary: Cookie",
				res.cookie, res.header.Get("Cache-Control"), res.header.Values("Vary"))
		}
	}
	old := v.id
	if res := v.get("/login"); res.cookie == nil || res.cookie.Value == old {
		t.Errorf("renew: cookie %v, want a new id", res.cookie)
	}
	if res := v.get("/logout"); res.cookie == nil || res.cookie.MaxAge >= 0 {
		t.Errorf("destroy: cookie %v, want it expired", res.cookie)
	}
}

// A request that read the session before a Renew and answers after it
// must not send the old, deleted id back: the visitor would be logged out
// right after logging in.
func TestRequestRacingARenewKeepsTheNewID(t *testing.T) {
	m := newManager(t, NewMemoryStore(), Config{})
	loaded, release := make(chan struct{}), make(chan struct{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		switch r.URL.Path {
		case "/slow":
			close(loaded)
			<-release
		case "/login":
			if err := s.Renew(r.Context()); err != nil {
				t.Error(err)
			}
		}
	}))
	v := &visitor{t: t, h: h}
	v.get("/")
	old := v.id
	slow := make(chan response, 1)
	go func() { slow <- do(t, h, http.MethodGet, "/slow", DefaultCookieName+"="+old) }()
	<-loaded
	login := v.get("/login")
	close(release)
	if res := <-slow; res.cookie != nil {
		t.Errorf("the request that read the session before the Renew sets cookie %v after it", res.cookie)
	}
	if login.cookie == nil || login.cookie.Value == old {
		t.Fatalf("renew: cookie %v", login.cookie)
	}
}

// Renew and Destroy may be called from the handler's goroutines while the
// handler sets headers: go test -race checks that nothing races, and the
// cookie reaches the response.
func TestRenewFromAnotherGoroutine(t *testing.T) {
	m := newManager(t, NewMemoryStore(), Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.Renew(context.WithoutCancel(r.Context())); err != nil {
				t.Error(err)
			}
		})
		for i := range 100 {
			w.Header().Set("X-Step", string(rune('a'+i%26)))
		}
		wg.Wait()
		w.Write([]byte("done"))
	}))
	v := &visitor{t: t, h: h}
	v.get("/")
	old := v.id
	if res := v.get("/"); res.cookie == nil || res.cookie.Value == old {
		t.Errorf("cookie %v, want the renewed id", res.cookie)
	}
}

// A handler's own Cache-Control never makes a response that sets the
// session cookie cacheable; on a response without it, the handler decides.
func TestHandlerCannotMakeTheCookiePublic(t *testing.T) {
	m := newManager(t, NewMemoryStore(), Config{})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Write([]byte("page"))
	}))
	v := &visitor{t: t, h: h}
	if res := v.get("/"); res.cookie == nil || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("new session: cookie %v, Cache-Control %q; want no-store", res.cookie, res.header.Get("Cache-Control"))
	}
	if res := v.get("/"); res.cookie != nil || res.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("returning view: cookie %v, Cache-Control %q; want the handler's", res.cookie, res.header.Get("Cache-Control"))
	}
}

// Cookie settings hold for every cookie the Manager sends, on every store:
// a new session's, Renew's, and Destroy's expired one, which only removes
// the browser's cookie when its Path matches.
func TestCookieSettingsOnEveryCookie(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		h := newManager(t, st, Config{Path: "/app", SameSite: http.SameSiteNoneMode, Partitioned: true}).Middleware(colorPage)
		h = http.StripPrefix("/app", h)
		renew := newManager(t, st, Config{Path: "/app", SameSite: http.SameSiteNoneMode, Partitioned: true}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			_ = s.Renew(r.Context())
		}))
		first := do(t, h, "GET", "/app/", "")
		cookie := defaultPlainCookieName + "=" + first.cookie.Value
		renewed := do(t, renew, "GET", "/app/renew", cookie)
		destroyed := do(t, h, "GET", "/app/destroy", defaultPlainCookieName+"="+renewed.cookie.Value)
		for name, res := range map[string]response{"new": first, "renew": renewed, "destroy": destroyed} {
			c := res.cookie
			if c == nil || c.Path != "/app" || c.SameSite != http.SameSiteNoneMode || !c.Partitioned || !c.Secure || !c.HttpOnly {
				t.Errorf("%s: cookie %q, want Path=/app, SameSite=None, Partitioned, Secure, HttpOnly", name, res.header.Get("Set-Cookie"))
			}
		}
		if destroyed.cookie == nil || destroyed.cookie.MaxAge >= 0 {
			t.Errorf("destroy: cookie %v, want it expired", destroyed.cookie)
		}
	})
}
