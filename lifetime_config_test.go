package sessions

import (
	"net/http"
	"testing"
	"time"
)

// Config.Lifetime is the lifetime of new sessions: its Max bounds the
// cookie's Max-Age, and with BrowserSession the cookie has none, also when
// a later request renews the session: the choice is stored with it.
func TestConfigLifetimeOfNewSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		renewing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/renew" {
				s, _ := FromContext(r.Context())
				_ = s.Renew(r.Context())
			}
		})
		h := newManager(t, st, Config{Lifetime: Lifetime{Max: 2 * time.Hour}}).Middleware(renewing)
		if res := do(t, h, "GET", "/", ""); res.cookie == nil || res.cookie.MaxAge < 7190 || res.cookie.MaxAge > 7200 {
			t.Errorf("Max 2 h: cookie %v, want Max-Age 7200 (less the seconds passed)", res.cookie)
		}

		h = newManager(t, st, Config{Lifetime: Lifetime{BrowserSession: true}}).Middleware(renewing)
		v := &visitor{t: t, h: h}
		for _, path := range []string{"/", "/renew"} {
			res := v.get(path)
			if res.cookie == nil || res.cookie.MaxAge != 0 || !res.cookie.Expires.IsZero() {
				t.Errorf("BrowserSession, %s: cookie %q, want one without Max-Age or Expires", path, res.header.Get("Set-Cookie"))
			}
		}
	})
}
