package sessions

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// send makes a request with header set to value (none when "").
func send(h http.Handler, path, header, value string) *http.Response {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if value != "" {
		r.Header.Set(header, value)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestTokenHeader(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			switch r.URL.Path {
			case "/renew":
				_ = s.Renew(r.Context())
			case "/destroy":
				_ = s.Destroy(r.Context())
			}
			greet(w, r)
		})
		api := newManager(t, st, Config{TokenHeader: "authorization"}).Middleware(page)

		res := send(api, "/", "", "")
		token := res.Header.Get(tokenResponseHeader)
		if !validID(token) || len(res.Cookies()) != 0 || !containsToken(res.Header.Values("Vary"), "Authorization") || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("new API session: token %q, cookies %v, headers %v", token, res.Cookies(), res.Header)
		}
		res = send(api, "/", "Authorization", "Bearer "+token)
		if res.Header.Get(tokenResponseHeader) != "" || res.Header[tokenResponseHeader] != nil {
			t.Errorf("a known token was sent again: %v", res.Header)
		}
		for _, bad := range []string{token, "Basic " + token, "Bearer ../" + token} {
			if res := send(api, "/", "Authorization", bad); res.Header.Get(tokenResponseHeader) == token {
				t.Errorf("Authorization %q accepted", bad)
			}
		}
		res = send(api, "/renew", "Authorization", "bearer "+token)
		renewed := res.Header.Get(tokenResponseHeader)
		if !validID(renewed) || renewed == token {
			t.Fatalf("Renew answered token %q", renewed)
		}
		res = send(api, "/destroy", "Authorization", "Bearer "+renewed)
		if v, ok := res.Header[tokenResponseHeader]; !ok || v[0] != "" {
			t.Errorf("Destroy answered %v, want an empty %s", v, tokenResponseHeader)
		}

		// A cookie Manager and a token Manager on one store share sessions.
		custom := newManager(t, st, Config{TokenHeader: "X-Session-Token"}).Middleware(greet)
		v := &visitor{t: t, h: newManager(t, st, Config{}).Middleware(greet)}
		v.get("/")
		res = send(custom, "/", "X-Session-Token", v.id)
		body := make([]byte, 64)
		n, _ := res.Body.Read(body)
		if views(t, string(body[:n])) != 2 || res.Header.Get("X-Session-Token") != "" {
			t.Errorf("the cookie's session through the token header: %q, headers %v", body[:n], res.Header)
		}
	})
	if _, err := New(NewMemoryStore(), Config{TokenHeader: "Bad Header"}); err == nil {
		t.Error("New accepted a TokenHeader that is no header name")
	}
}

// Load and Save: a session used outside the middleware counts its view and
// saves its changes field-level, as a request does.
func TestLoadAndSave(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		m := newManager(t, st, Config{})
		v := &visitor{t: t, h: m.Middleware(colorPage)}
		v.get("/set?color=red")
		ctx := context.Background()
		s, err := m.Load(ctx, v.id)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := s.GetString("color"); c != "red" || s.Views() != 2 {
			t.Errorf("loaded color %q, view %d", c, s.Views())
		}
		if err := s.Set("color", "blue"); err != nil {
			t.Fatal(err)
		}
		if err := m.Save(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := s.Set("color", "green"); !errors.Is(err, ErrInactive) {
			t.Errorf("Set after Save: %v, want ErrInactive", err)
		}
		if got := v.get("/").body; got != `3 views for "blue"` {
			t.Errorf("after Save: %q", got)
		}
		for _, id := range []string{newID(), "../x", ""} {
			if _, err := m.Load(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load(%q): %v, want ErrNotFound", id, err)
			}
		}
		var inRequest *Session
		do(t, m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inRequest, _ = FromContext(r.Context())
		})), "GET", "/", "")
		if err := m.Save(ctx, inRequest); err == nil {
			t.Error("Save took a request's session")
		}
	})
}

// The Cookie header carries the browser's cookies and Set-Cookie the
// server's: neither can carry a token.
func TestNewRefusesCookieHeadersAsTokenHeader(t *testing.T) {
	for _, name := range []string{"Cookie", "cookie", "Set-Cookie", "SET-COOKIE"} {
		_, err := New(NewMemoryStore(), Config{TokenHeader: name})
		if err == nil || !strings.Contains(err.Error(), "TokenHeader") || !strings.Contains(err.Error(), "cannot carry session tokens") {
			t.Errorf("New with TokenHeader %q: %v, want an error saying it cannot carry tokens", name, err)
		}
	}
}
