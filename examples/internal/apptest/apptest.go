// Package apptest checks an example app on some router: the same app on
// each (a page, a login that renews the session, a health check without a
// session, an API with a token session, and cross-site request forgery
// protection in front of everything) must behave as it does on net/http.
package apptest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firestore-sessions/sessions"
)

// The example app's routes:
//
//	GET  /         "view N, user \"U\"", with the cookie session
//	POST /login    Renew, Set("user", "ada"), 303 to /
//	GET  /healthz  "ok", no session
//	GET  /api/me   {"views":N}, with a token session (Authorization)
//
// Run checks them on the app that newApp makes of a Manager.
func Run(t *testing.T, newApp func(m *sessions.Manager) http.Handler) {
	store := sessions.NewMemoryStore()
	m, err := sessions.New(store, sessions.Config{})
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(m)

	res, body := do(t, app, "GET", "/", nil, "", "")
	first := sessionCookie(res)
	if first == nil || body != `view 1, user ""` {
		t.Fatalf("first page: %q, cookie %v", body, first)
	}
	res, _ = do(t, app, "POST", "/login", first, "Sec-Fetch-Site", "same-origin")
	renewed := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || renewed == nil || renewed.Value == first.Value {
		t.Fatalf("login: %d, cookie %v; want 303 and a new session id", res.StatusCode, renewed)
	}
	if _, body := do(t, app, "GET", "/", renewed, "", ""); body != `view 3, user "ada"` {
		t.Errorf("after login: %q", body)
	}
	if _, body := do(t, app, "GET", "/", first, "", ""); body != `view 1, user ""` {
		t.Errorf("the id from before login: %q, want a new session", body)
	}

	n := store.Len()
	res, _ = do(t, app, "POST", "/login", renewed, "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil || store.Len() != n {
		t.Errorf("cross-site login: %d, cookie %v, %d sessions more; want 403 and nothing", res.StatusCode, sessionCookie(res), store.Len()-n)
	}
	res, body = do(t, app, "GET", "/healthz", nil, "", "")
	if body != "ok" || len(res.Cookies()) != 0 || store.Len() != n || res.Header.Get("Vary") != "" {
		t.Errorf("health check: %q, cookies %v, %d sessions more, Vary %q; want no session", body, res.Cookies(), store.Len()-n, res.Header.Get("Vary"))
	}

	res, body = do(t, app, "GET", "/api/me", nil, "", "")
	token := res.Header.Get("Session-Token")
	if len(token) != 36 || strings.Count(token, "-") != 4 || len(res.Cookies()) != 0 || body != `{"views":1}` {
		t.Fatalf("API: %q, token %q, cookies %v", body, token, res.Cookies())
	}
	if _, body := do(t, app, "GET", "/api/me", nil, "Authorization", "Bearer "+token); body != `{"views":2}` {
		t.Errorf("API with its token: %q", body)
	}
}

// do sends one request to h with the session cookie c (if any) and the
// request header name set to value (if any).
func do(t *testing.T, h http.Handler, method, path string, c *http.Cookie, name, value string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	if name != "" {
		r.Header.Set(name, value)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Result(), string(b)
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == sessions.DefaultCookieName {
			return c
		}
	}
	return nil
}
