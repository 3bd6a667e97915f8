package greetertest

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

// ParseText checks that text reads `N views for "GREETING"`, with one of
// the five greetings, and returns N and the greeting.
func ParseText(t testing.TB, text string) (views int, greeting string) {
	t.Helper()
	n, g, err := greeterdrive.ParseText(text)
	if err == nil {
		err = greeterdrive.Known(g)
	}
	if err != nil {
		t.Fatal(err)
	}
	return int(n), g
}

// ParsePage checks that body is exactly `<body>N views for "GREETING"</body>`,
// with one of the five greetings, and returns N and the greeting.
func ParsePage(t testing.TB, body string) (views int, greeting string) {
	t.Helper()
	n, g, err := greeterdrive.ParsePage(body)
	if err == nil {
		err = greeterdrive.Known(g)
	}
	if err != nil {
		t.Fatal(err)
	}
	return int(n), g
}

var client = &http.Client{Timeout: 30 * time.Second}

// Request sends a request with method to url, with cookie if it is not nil,
// and returns the response with its body read.
func Request(t testing.TB, method, url string, cookie *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, string(body)
}

// SessionCookie returns the session cookie that resp sets, or nil: named
// __Host-session_id where it is Secure, session_id where it is not.
func SessionCookie(resp *http.Response) *http.Cookie { return greeterdrive.SessionCookie(resp) }
