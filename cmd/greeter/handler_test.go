package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/cmd/greeter/internal/greetertest"
)

// newTestServer serves the greeter's handler over the memory store, on a
// real HTTP server, and returns its URL and its store.
func newTestServer(t *testing.T) (string, *sessions.MemoryStore) {
	t.Helper()
	store := sessions.NewMemoryStore()
	h, _, err := newHandler(store, false, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, store
}

func TestPage(t *testing.T) {
	url, _ := newTestServer(t)

	resp, body := greetertest.Request(t, "GET", url+"/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q, want text/html; charset=utf-8", ct)
	}
	views, greeting := greetertest.ParsePage(t, body)
	if views != 1 {
		t.Errorf("first visit: %q, want 1 view", body)
	}
	cookie := greetertest.SessionCookie(resp)
	if cookie == nil {
		t.Fatalf("no session_id cookie in %q", resp.Header.Values("Set-Cookie"))
	}
	if cookie.Secure || !cookie.HttpOnly {
		t.Errorf("cookie Secure=%v HttpOnly=%v, want false, true for local development", cookie.Secure, cookie.HttpOnly)
	}

	for want := 2; want <= 5; want++ {
		resp, body := greetertest.Request(t, "GET", url+"/", cookie)
		views, g := greetertest.ParsePage(t, body)
		if views != want || g != greeting {
			t.Fatalf("visit %d: %q, want %d views for %q", want, body, want, greeting)
		}
		if c := greetertest.SessionCookie(resp); c != nil {
			t.Fatalf("visit %d: sets cookie %v; the cookie is sent only when it changes", want, c)
		}
	}
}

// Each new visitor (another browser, a private window) gets a session of
// its own, and so does a cookie that names no session.
func TestNewVisitorsGetNewSessions(t *testing.T) {
	url, store := newTestServer(t)
	seen := map[string]bool{}
	unknown := &http.Cookie{Name: "session_id", Value: "6f1c1b5e-3b9b-4c55-8f0e-0f5b7c2f8a11"}
	for _, cookie := range []*http.Cookie{nil, nil, nil, unknown} {
		resp, body := greetertest.Request(t, "GET", url+"/", cookie)
		if views, _ := greetertest.ParsePage(t, body); views != 1 {
			t.Errorf("new visitor sees %q, want 1 view", body)
		}
		c := greetertest.SessionCookie(resp)
		if c == nil || seen[c.Value] || c.Value == unknown.Value {
			t.Fatalf("new visitor got cookie %v, want a new session (had %v)", c, seen)
		}
		seen[c.Value] = true
	}
	if store.Len() != 4 {
		t.Errorf("%d sessions stored, want 4", store.Len())
	}
}

// Only GET and HEAD / have sessions: other paths are 404 and other methods
// 405, and neither creates a session or counts a view. /favicon.ico above
// all, which browsers ask for on every page: a reload would show 3.
func TestRequestsBesideThePageHaveNoSession(t *testing.T) {
	for _, c := range []struct {
		name     string
		requests [][2]string // method, path
		status   int
		allow    string // the Allow header wanted, if any
	}{
		{"other paths", [][2]string{{"GET", "/favicon.ico"}, {"GET", "/x"}, {"GET", "/x/"}, {"GET", "/index.html"}, {"GET", "/robots.txt"}}, http.StatusNotFound, ""},
		{"other methods", [][2]string{{"POST", "/"}, {"PUT", "/"}, {"DELETE", "/"}, {"PATCH", "/"}, {"OPTIONS", "/"}}, http.StatusMethodNotAllowed, "GET, HEAD"},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, store := newTestServer(t)
			for _, r := range c.requests {
				resp, _ := greetertest.Request(t, r[0], url+r[1], nil)
				if resp.StatusCode != c.status {
					t.Errorf("%s %s: status %d, want %d", r[0], r[1], resp.StatusCode, c.status)
				}
				if allow := resp.Header.Get("Allow"); allow != c.allow {
					t.Errorf("%s %s: Allow %q, want %q", r[0], r[1], allow, c.allow)
				}
				if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
					t.Errorf("%s %s sets cookies %q", r[0], r[1], sc)
				}
			}
			if store.Len() != 0 {
				t.Errorf("%d sessions stored, want 0", store.Len())
			}

			resp, _ := greetertest.Request(t, "GET", url+"/", nil)
			cookie := greetertest.SessionCookie(resp)
			first := c.requests[0]
			greetertest.Request(t, first[0], url+first[1], cookie)
			_, body := greetertest.Request(t, "GET", url+"/", cookie)
			if views, _ := greetertest.ParsePage(t, body); views != 2 {
				t.Errorf("reload after %s %s shows %q, want 2 views", first[0], first[1], body)
			}
		})
	}
}

func TestHead(t *testing.T) {
	url, _ := newTestServer(t)
	resp, body := greetertest.Request(t, "HEAD", url+"/", nil)
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("HEAD /: status %d, body %q; want 200 and no body", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("HEAD /: Content-Type %q", ct)
	}
	cookie := greetertest.SessionCookie(resp)
	if cookie == nil {
		t.Fatal("HEAD / sets no session cookie")
	}
	_, body = greetertest.Request(t, "GET", url+"/", cookie)
	if views, _ := greetertest.ParsePage(t, body); views != 2 {
		t.Errorf("GET after HEAD shows %q, want 2 views", body)
	}
}

// A session stored without a greeting (by an older version of the app, say)
// gets one on its next view, and keeps it.
func TestSessionWithoutGreetingGetsOne(t *testing.T) {
	url, store := newTestServer(t)
	cookie := storeSession(t, store, nil)
	_, body := greetertest.Request(t, "GET", url+"/", cookie)
	views, greeting := greetertest.ParsePage(t, body)
	if views != 2 {
		t.Errorf("%q, want 2 views", body)
	}
	_, body = greetertest.Request(t, "GET", url+"/", cookie)
	if views, g := greetertest.ParsePage(t, body); views != 3 || g != greeting {
		t.Errorf("%q, want 3 views for %q", body, greeting)
	}
}

// The greeting is escaped, whatever the store holds.
func TestGreetingIsEscaped(t *testing.T) {
	url, store := newTestServer(t)
	cookie := storeSession(t, store, map[string]any{greetingKey: `<b>"Hi" & bye</b>`})
	_, body := greetertest.Request(t, "GET", url+"/", cookie)
	if want := `<body>2 views for "&lt;b&gt;&#34;Hi&#34; &amp; bye&lt;/b&gt;"</body>`; body != want {
		t.Errorf("page %q, want %q", body, want)
	}
}

// storeSession stores a session with one view and values, and returns its
// cookie.
func storeSession(t *testing.T, store sessions.Store, values map[string]any) *http.Cookie {
	t.Helper()
	const id = "0b7e3a52-9a51-4d8e-a3c4-2f0a8a6f1d3b"
	now := time.Now()
	attrs := sessions.Attrs{Created: now, Renewed: now, Expires: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)}
	m := sessions.Mutation{Key: sessions.Handle(id), Create: true, AddViews: 1, Set: values, Attrs: &attrs}
	if _, err := store.Commit(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: "session_id", Value: id}
}

// /views shows the page without counting a view: the count stays, and a
// page after it counts on from the last counted view.
func TestViewsRouteDoesNotCount(t *testing.T) {
	url, _ := newTestServer(t)
	resp, _ := greetertest.Request(t, "GET", url+"/", nil)
	cookie := greetertest.SessionCookie(resp)
	greetertest.Request(t, "GET", url+"/", cookie)
	for range 3 {
		resp, body := greetertest.Request(t, "GET", url+"/views", cookie)
		if views, _ := greetertest.ParsePage(t, body); views != 2 {
			t.Errorf("/views shows %q, want 2 views", body)
		}
		if c := greetertest.SessionCookie(resp); c != nil {
			t.Errorf("/views sets cookie %v", c)
		}
	}
	_, body := greetertest.Request(t, "GET", url+"/", cookie)
	if views, _ := greetertest.ParsePage(t, body); views != 3 {
		t.Errorf("the page after /views shows %q, want 3 views", body)
	}
	// A visitor with no session gets one on /views too: its creation is
	// its first view.
	resp, body = greetertest.Request(t, "GET", url+"/views", nil)
	if views, _ := greetertest.ParsePage(t, body); views != 1 || greetertest.SessionCookie(resp) == nil {
		t.Errorf("/views without a session: %q, cookie %v; want 1 view and a new session", body, greetertest.SessionCookie(resp))
	}
}
