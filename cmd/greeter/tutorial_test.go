package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/firestore"
	"github.com/firestore-sessions/sessions/cmd/greeter/internal/greetertest"
	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/freeport"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

// tutorialGreeting is the greeting of the tutorial's sessions in these
// tests: none of the five, so that a page shows it only if it was adopted.
const tutorialGreeting = "Servus Welt"

func TestAdoptTutorialSetting(t *testing.T) {
	emu := "FIRESTORE_EMULATOR_HOST=127.0.0.1:8085"
	for _, c := range []struct {
		env  []string
		args []string
		want bool
		err  string
	}{
		{env: []string{emu}, want: false},
		{env: []string{emu, "GREETER_ADOPT_TUTORIAL=1"}, want: true},
		{env: []string{emu, "GREETER_ADOPT_TUTORIAL=true"}, want: true},
		{env: []string{emu, "GREETER_ADOPT_TUTORIAL=0"}, want: false},
		{env: []string{emu}, args: []string{"-adopt-tutorial"}, want: true},
		{env: []string{emu, "GREETER_ADOPT_TUTORIAL=1"}, args: []string{"-adopt-tutorial=false"}, want: false},
		{env: []string{"GOOGLE_CLOUD_PROJECT=my-project", "GREETER_ADOPT_TUTORIAL=1"}, want: true},
		{env: []string{"K_SERVICE=greeter", "GREETER_ADOPT_TUTORIAL=1"}, want: true},
		{env: []string{emu, "GREETER_ADOPT_TUTORIAL=yes"}, err: `invalid GREETER_ADOPT_TUTORIAL "yes"`},
		{env: []string{"GREETER_ADOPT_TUTORIAL=1"}, err: "needs Firestore"},
		{args: []string{"-adopt-tutorial"}, err: "needs Firestore"},
	} {
		cfg, err := parseConfig(c.args, env(c.env...))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v %v: %v, want an error with %q", c.env, c.args, err, c.err)
		case c.err == "" && (err != nil || cfg.adoptTutorial != c.want):
			t.Errorf("%v %v: adopt %v, %v; want %v", c.env, c.args, cfg.adoptTutorial, err, c.want)
		}
	}
}

func TestIsUUIDv4(t *testing.T) {
	for s, want := range map[string]bool{
		"6f1c1b5e-3b9b-4c55-8f0e-0f5b7c2f8a11":   true,
		"6f1c1b5e-3b9b-4c55-bf0e-0f5b7c2f8a11":   true,
		"6F1C1B5E-3B9B-4C55-8F0E-0F5B7C2F8A11":   false, // upper case
		"6f1c1b5e-3b9b-1c55-8f0e-0f5b7c2f8a11":   false, // version 1
		"6f1c1b5e-3b9b-4c55-cf0e-0f5b7c2f8a11":   false, // another variant
		"6f1c1b5e3b9b4c558f0e0f5b7c2f8a11":       false, // no hyphens
		"{6f1c1b5e-3b9b-4c55-8f0e-0f5b7c2f8a11}": false,
		"6f1c1b5e-3b9b-4c55-8f0e-0f5b7c2f8a1g":   false,
		"6f1c1b5e-3b9b-4c55-8f0e-0f5b7c2f8a11/x": false,
		"../x":                                   false,
		"..":                                     false,
		"":                                       false,
	} {
		if got := isUUIDv4(s); got != want {
			t.Errorf("isUUIDv4(%q) = %v, want %v", s, got, want)
		}
	}
}

// A cookie that is not a tutorial's session id adopts nothing, and is
// refused before any read: this adopter has no Firestore client, so a read
// would panic.
func TestTutorialRefusesOtherCookies(t *testing.T) {
	ts := &tutorialSessions{clear: true}
	for _, value := range []string{"../x", "a/b", "..", "__x__", "6F1C1B5E-3B9B-4C55-8F0E-0F5B7C2F8A11", "6f1c1b5e-3b9b-1c55-8f0e-0f5b7c2f8a11", strings.Repeat("a", 1500)} {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: tutorialCookie, Value: value})
		if a, ok, err := ts.adopt(r); ok || err != nil || a.Clear != nil {
			t.Errorf("cookie %q: %v, %v, %v; want nothing", value, a, ok, err)
		}
	}
	if _, ok, err := ts.adopt(httptest.NewRequest("GET", "/", nil)); ok || err != nil {
		t.Errorf("no cookie: %v, %v; want nothing", ok, err)
	}
}

// tutorialProject returns a project of its own on the emulator, with a
// client that writes the tutorial's documents.
func tutorialProject(t *testing.T) (host, project string, client *firestore.Client) {
	t.Helper()
	host = emulator.Require(t)
	project = emulator.ProjectID(t)
	return host, project, emulator.NewClient(t, project)
}

// putTutorialSession writes a session of the tutorial's, as its app does.
func putTutorialSession(t *testing.T, client *firestore.Client, id, greeting string, views int64) {
	t.Helper()
	_, err := client.Collection(collection).Doc(id).Set(t.Context(), map[string]any{"greeting": greeting, "views": views})
	if err != nil {
		t.Fatal(err)
	}
}

// greeterOn returns the greeter's handler on project's emulator database,
// and if adopt, the adopter of the tutorial's sessions that it uses.
func greeterOn(t *testing.T, project string, secure, adopt bool) (http.Handler, *tutorialSessions) {
	t.Helper()
	store, err := openFirestore(t.Context(), project, "", startTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var a adoptFunc
	var ts *tutorialSessions
	if adopt {
		ts, err = openTutorialSessions(t.Context(), project, "", cookieName(secure))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ts.Close() })
		a = ts.adopt
	}
	h, _, err := newHandler(store, secure, slog.New(slog.DiscardHandler), a)
	if err != nil {
		t.Fatal(err)
	}
	return h, ts
}

// visit sends GET / to h with cookies, and returns the response, its
// page's view count and greeting.
func visit(t *testing.T, h http.Handler, cookies ...*http.Cookie) (*http.Response, int64, string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %q", resp.StatusCode, body)
	}
	views, greeting, err := greeterdrive.ParsePage(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp, views, greeting
}

// cookies splits the cookies resp sets into those it sets and those it
// expires, by name.
func cookies(resp *http.Response) (set map[string]*http.Cookie, expired []string) {
	set = map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			expired = append(expired, c.Name+" Path="+c.Path)
		} else {
			set[c.Name] = c
		}
	}
	return set, expired
}

// A visitor of the tutorial's app keeps their greeting and count: the
// greeter answers view 3 after the tutorial's 2, with its own cookie, and
// the next request, with that cookie alone, is view 4. Where the greeter's
// cookie has another name (Secure, on Google Cloud) the answer expires the
// tutorial's cookie; where both are session_id, the new cookie replaces
// it. The tutorial's document is left as it was.
func TestTakeOverTutorialSession(t *testing.T) {
	host, project, client := tutorialProject(t)
	const id = "0b7e3a52-9a51-4d8e-a3c4-2f0a8a6f1d3b"
	putTutorialSession(t, client, id, tutorialGreeting, 2)

	for _, secure := range []bool{true, false} {
		name := cookieName(secure)
		h, ts := greeterOn(t, project, secure, true)
		// The adopter asks to expire the tutorial's cookie only where the
		// greeter's has another name.
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: tutorialCookie, Value: id})
		if a, ok, err := ts.adopt(r); err != nil || !ok || (a.Clear != nil) != secure {
			t.Errorf("secure %v: adopt: %+v, %v, %v; want a cookie to clear: %v", secure, a, ok, err, secure)
		}

		resp, views, greeting := visit(t, h, &http.Cookie{Name: tutorialCookie, Value: id})
		if views != 3 || greeting != tutorialGreeting {
			t.Fatalf("secure %v: the tutorial's visitor sees %d views for %q, want 3 for %q", secure, views, greeting, tutorialGreeting)
		}
		set, expired := cookies(resp)
		own := set[name]
		if own == nil || own.Value == id || len(set) != 1 {
			t.Fatalf("secure %v: sets cookies %v, want only a new %s", secure, set, name)
		}
		wantExpired := []string{"session_id Path=/"}
		if !secure {
			wantExpired = nil // the new session_id replaces it
		}
		if !slices.Equal(expired, wantExpired) {
			t.Errorf("secure %v: expires %q, want %q", secure, expired, wantExpired)
		}

		resp, views, greeting = visit(t, h, own)
		if views != 4 || greeting != tutorialGreeting {
			t.Errorf("secure %v: next visit shows %d views for %q, want 4 for %q", secure, views, greeting, tutorialGreeting)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("secure %v: next visit sets %v, want no cookie", secure, resp.Cookies())
		}
	}

	snap, err := client.Collection(collection).Doc(id).Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Data(); got["greeting"] != tutorialGreeting || got["views"] != int64(2) || len(got) != 2 {
		t.Errorf("the tutorial's document holds %v, want it unchanged", got)
	}
	docs, err := emulator.Documents(t.Context(), host, project)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 || !slices.Contains(docs, "sessions/"+id) {
		t.Errorf("documents %q, want the tutorial's and the greeter's two", docs)
	}
}

// Nothing is adopted from a cookie that is not a tutorial's session id,
// even where a document of that name exists, from an id without a
// document, or with the takeover off; and nothing is written but the
// greeter's new sessions.
func TestTakeOverNothing(t *testing.T) {
	host, project, client := tutorialProject(t)
	const tutorialID = "0b7e3a52-9a51-4d8e-a3c4-2f0a8a6f1d3b"
	others := []string{
		"6F1C1B5E-3B9B-4C55-8F0E-0F5B7C2F8A11", // upper case
		"6f1c1b5e-3b9b-1c55-8f0e-0f5b7c2f8a11", // version 1
		"not-a-session-id",
	}
	for _, id := range append(others, tutorialID) {
		putTutorialSession(t, client, id, tutorialGreeting, 7)
	}
	before, err := emulator.Documents(t.Context(), host, project)
	if err != nil {
		t.Fatal(err)
	}

	on, _ := greeterOn(t, project, true, true)
	off, _ := greeterOn(t, project, true, false)
	for _, c := range []struct {
		name  string
		h     http.Handler
		value string
	}{
		{"a path", on, "../x"},
		{"a path to another document", on, "../" + collection + "/" + tutorialID},
		{"upper case", on, others[0]},
		{"version 1", on, others[1]},
		{"not a UUID", on, others[2]},
		{"unknown id", on, "6f1c1b5e-3b9b-4c55-8f0e-0f5b7c2f8a11"},
		{"takeover off", off, tutorialID},
	} {
		resp, views, _ := visit(t, c.h, &http.Cookie{Name: tutorialCookie, Value: c.value})
		set, expired := cookies(resp)
		if views != 1 || set[cookieName(true)] == nil || len(expired) != 0 {
			t.Errorf("%s (%q): %d views, sets %v, expires %q; want a new session of 1 view, and no cookie expired", c.name, c.value, views, set, expired)
		}
	}

	after, err := emulator.Documents(t.Context(), host, project)
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, d := range after {
		if !slices.Contains(before, d) {
			added = append(added, d)
		}
	}
	for _, d := range added {
		if id, _ := strings.CutPrefix(d, collection+"/"); len(id) != 64 {
			t.Errorf("document %q written, want only the greeter's sessions", d)
		}
	}
	if len(added) != 7 || len(after) != len(before)+7 {
		t.Errorf("%d documents added, %d before, %d after; want the 7 new sessions", len(added), len(before), len(after))
	}
}

// The greeter with GREETER_ADOPT_TUTORIAL=1 on Google Cloud (Secure
// cookie) takes the tutorial's visitor over: view 3 with its greeting, the
// tutorial's cookie expired, then view 4 with the greeter's own cookie.
func TestBinaryTakesOverTutorialSession(t *testing.T) {
	host, project, client := tutorialProject(t)
	const id = "7d3c5a1e-2b4f-4e6a-9c8d-1f2e3a4b5c6d"
	putTutorialSession(t, client, id, tutorialGreeting, 2)
	bin := greetertest.Build(t)
	p := greetertest.Start(t, bin, "FIRESTORE_EMULATOR_HOST="+host, "GOOGLE_CLOUD_PROJECT="+project,
		"K_SERVICE=greeter", "GREETER_ADOPT_TUTORIAL=1")

	resp, body := greetertest.Request(t, "GET", p.URL+"/", &http.Cookie{Name: tutorialCookie, Value: id})
	views, greeting, err := greeterdrive.ParsePage(body)
	if err != nil || views != 3 || greeting != tutorialGreeting {
		t.Fatalf("the tutorial's visitor: %q (%v), want 3 views for %q", body, err, tutorialGreeting)
	}
	set, expired := cookies(resp)
	own := set[greeterdrive.CookieName]
	if own == nil || !own.Secure || !slices.Equal(expired, []string{"session_id Path=/"}) {
		t.Fatalf("sets %v, expires %q; want a Secure %s and session_id expired", set, expired, greeterdrive.CookieName)
	}
	_, body = greetertest.Request(t, "GET", p.URL+"/", own)
	if views, greeting, err := greeterdrive.ParsePage(body); err != nil || views != 4 || greeting != tutorialGreeting {
		t.Errorf("next visit: %q (%v), want 4 views for %q", body, err, tutorialGreeting)
	}
	if code := p.Stop(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.Output())
	}
	if out := p.Output(); !strings.Contains(out, "take over the tutorial") {
		t.Errorf("no log line about the takeover:\n%s", out)
	}
}

// When the tutorial's session cannot be read, the request gets 503 and no
// cookie: no new session takes the visitor's place, and the tutorial's
// cookie stays for the next try.
func TestTakeOverFailsWhileFirestoreFails(t *testing.T) {
	host, project, _ := tutorialProject(t)
	store, err := openFirestore(t.Context(), project, "", startTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// The adopter's client reads FIRESTORE_EMULATOR_HOST when it is made:
	// make it look where nothing listens.
	t.Setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:"+strconv.Itoa(freeport.For(t)))
	ts, err := openTutorialSessions(t.Context(), project, "", cookieName(true))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	h, _, err := newHandler(store, true, slog.New(slog.DiscardHandler), ts.adopt)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: tutorialCookie, Value: "0b7e3a52-9a51-4d8e-a3c4-2f0a8a6f1d3b"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || len(w.Result().Cookies()) != 0 {
		t.Errorf("%d, Retry-After %q, cookies %v; want 503 with Retry-After and no cookie", w.Code, w.Header().Get("Retry-After"), w.Result().Cookies())
	}
	if docs, err := emulator.Documents(t.Context(), host, project); err != nil || len(docs) != 0 {
		t.Errorf("documents %q, %v; want none", docs, err)
	}
}
