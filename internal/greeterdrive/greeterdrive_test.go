package greeterdrive_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

func TestParsePage(t *testing.T) {
	for _, tc := range []struct {
		body     string
		views    int64
		greeting string
		ok       bool
	}{
		{`<body>1 views for "Hallo Welt"</body>`, 1, "Hallo Welt", true},
		{`<body>12345 views for ""</body>`, 12345, "", true},
		{`1 views for "Hallo Welt"`, 0, "", false},
		{`<body>1 views for "Hallo Welt"</body>` + "\n", 0, "", false},
		{`<body>x views for "Hallo Welt"</body>`, 0, "", false},
		{`<body>1 views for "a"b"</body>`, 0, "", false},
		{`<body>1 views for "<script>"</body>`, 0, "", false},
		{`<body>99999999999999999999 views for "a"</body>`, 0, "", false},
	} {
		views, greeting, err := greeterdrive.ParsePage(tc.body)
		if (err == nil) != tc.ok || views != tc.views || greeting != tc.greeting {
			t.Errorf("ParsePage(%q) = %d, %q, %v; want %d, %q, ok %v", tc.body, views, greeting, err, tc.views, tc.greeting, tc.ok)
		}
	}
	if err := greeterdrive.Known("Hola Mundo"); err != nil {
		t.Error(err)
	}
	if err := greeterdrive.Known("Hi"); err == nil {
		t.Error(`Known("Hi") = nil, want an error`)
	}
}

// The cookie names are the library's, which this package cannot import
// (the library's own tests import it).
func TestCookieNames(t *testing.T) {
	for cfg, want := range map[bool]string{false: greeterdrive.CookieName, true: greeterdrive.PlainCookieName} {
		m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{Insecure: cfg})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		m.Middleware(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if c := greeterdrive.SessionCookie(w.Result()); c == nil || c.Name != want {
			t.Errorf("Insecure %v: cookie %v, want the name %q", cfg, c, want)
		}
	}
}

// TestFleet builds the greeter, runs two instances (sessions in memory:
// no Firestore configured, so each instance has its own), and drives
// visitors that each stay on one instance: every visitor's pages count
// 1, 2, 3, ....
func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the greeter")
	}
	ctx := context.Background()
	dir := t.TempDir()
	bin, err := greeterdrive.Build(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for range 2 {
		p, err := greeterdrive.Start(greeterdrive.Config{Bin: bin, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if code, err := p.Stop(15 * time.Second); err != nil || code != 0 {
				t.Errorf("stopping the greeter: exit code %d, %v\n%s", code, err, p.Output())
			}
		})
		if err := p.WaitListening(time.Minute); err != nil {
			t.Fatalf("%v\n%s", err, p.Output())
		}
		urls = append(urls, p.URL+"/")
	}
	const visitors, each = 4, 5
	hc := &http.Client{Timeout: 30 * time.Second}
	load := greeterdrive.StartLoad(ctx, hc, greeterdrive.Visitors(visitors, ""), greeterdrive.LoadOptions{
		URL:         func(v, k int) string { return urls[v%len(urls)] },
		MaxRequests: visitors * each,
		QuitOnError: true,
	})
	results := load.Wait()
	if len(results) != visitors*each {
		t.Fatalf("%d results, want %d", len(results), visitors*each)
	}
	next := map[int]int64{}
	greeting := map[int]string{}
	for _, r := range results {
		if !r.OK() {
			t.Fatalf("%v", r)
		}
		if err := greeterdrive.Known(r.Greeting); err != nil {
			t.Error(err)
		}
		if g, ok := greeting[r.Visitor]; ok && g != r.Greeting {
			t.Errorf("visitor %d: greeting %q, then %q", r.Visitor, g, r.Greeting)
		}
		greeting[r.Visitor] = r.Greeting
		next[r.Visitor]++
		if r.Views != next[r.Visitor] {
			t.Errorf("visitor %d: page %d shows %d views", r.Visitor, next[r.Visitor], r.Views)
		}
	}
}
