package gorillaexample_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/firestore-sessions/sessions"
	gsessions "github.com/gorilla/sessions"
)

var (
	hashKey  = []byte("0123456789abcdef0123456789abcdef")
	blockKey = []byte("fedcba9876543210fedcba9876543210")
)

// gorillaCookie returns the cookie of a gorilla session of store holding
// values, as the old app set it.
func gorillaCookie(t *testing.T, store gsessions.Store, values map[any]any) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	s, err := store.Get(r, oldName)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		s.Values[k] = v
	}
	if err := s.Save(r, w); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == oldName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", oldName, w.Header().Values("Set-Cookie"))
	return nil
}

// newApp returns the app after the move, adopting the gorilla sessions of
// old, with its Manager.
func newApp(t *testing.T, old gsessions.Store) (http.Handler, *sessions.Manager) {
	t.Helper()
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{Adopt: adoptGorilla(old, oldName)})
	if err != nil {
		t.Fatal(err)
	}
	return m.Middleware(http.HandlerFunc(cartPage)), m
}

// get sends GET / to h with cookies, and returns the response and its body.
func get(t *testing.T, h http.Handler, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %q", w.Code, body)
	}
	return w.Result(), string(body)
}

// The answer to a request with the gorilla cookie expires it and sets the
// new session's cookie; the next request, with the new cookie only, is the
// same session, with the gorilla session's values under string keys, bound
// to its user.
func TestAdoptGorillaSession(t *testing.T) {
	old := gsessions.NewCookieStore(hashKey, blockKey)
	app, m := newApp(t, old)
	gc := gorillaCookie(t, old, map[any]any{"user": "ada", "cart": []string{"tea", "scones"}, 42: "a key that is not a string"})

	resp, body := get(t, app, gc)
	const page = `owner "ada", user "ada", cart ["tea" "scones"]`
	if want := "view 1, " + page; body != want {
		t.Errorf("with the gorilla cookie: %q, want %q", body, want)
	}
	var expired, own *http.Cookie
	for _, c := range resp.Cookies() {
		switch {
		case c.Name == oldName:
			expired = c
		case c.Name == sessions.DefaultCookieName:
			own = c
		}
	}
	if expired == nil || expired.MaxAge >= 0 || expired.Value != "" || expired.Path != "/" {
		t.Errorf("the gorilla cookie in the answer: %v, want it expired at Path /", expired)
	}
	if own == nil || own.MaxAge <= 0 {
		t.Fatalf("the new session's cookie: %v", own)
	}

	resp, body = get(t, app, own)
	if want := "view 2, " + page; body != want {
		t.Errorf("with the new cookie: %q, want %q", body, want)
	}
	if len(resp.Cookies()) != 0 {
		t.Errorf("second answer sets %v, want no cookie: the same session", resp.Cookies())
	}

	owned, err := m.OwnerSessions(t.Context(), "ada")
	if err != nil || len(owned) != 1 {
		t.Fatalf("ada's sessions: %v, %v; want the adopted one", owned, err)
	}
	for handle, rec := range owned {
		if handle != sessions.Handle(own.Value) || len(rec.Values) != 2 {
			t.Errorf("ada's session %s holds %v, want the new cookie's session with user and cart only", handle, rec.Values)
		}
	}
}

// Without a gorilla session nothing is adopted, and no cookie is expired:
// no cookie, a forged one, one of a store with other keys.
func TestAdoptNothingWithoutGorillaSession(t *testing.T) {
	old := gsessions.NewCookieStore(hashKey, blockKey)
	app, _ := newApp(t, old)
	otherKeys := gsessions.NewCookieStore([]byte("another key of 32 bytes, exactly"))
	forged := gorillaCookie(t, old, map[any]any{"user": "ada"})
	forged.Value = forged.Value[:len(forged.Value)-4] + "AAAA"
	for name, cookies := range map[string][]*http.Cookie{
		"no cookie":  nil,
		"forged":     {forged},
		"other keys": {gorillaCookie(t, otherKeys, map[any]any{"user": "ada"})},
	} {
		resp, body := get(t, app, cookies...)
		if want := `view 1, owner "", user "", cart []`; body != want {
			t.Errorf("%s: %q, want %q", name, body, want)
		}
		for _, c := range resp.Cookies() {
			if c.Name != sessions.DefaultCookieName {
				t.Errorf("%s: sets %v, want only the new session's cookie", name, c)
			}
		}
	}
}
