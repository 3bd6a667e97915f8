package greetertest

import (
	"github.com/firestore-sessions/sessions"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Greetings are the five greetings of the tutorial.
var Greetings = []string{"Hello World", "Hallo Welt", "Ciao Mondo", "Salut le Monde", "Hola Mundo"}

// pageText is the page's text as a browser shows it; Page adds the tags.
var pageText = regexp.MustCompile(`^(\d+) views for "([^"<>&]*)"$`)

// ParseText checks that text reads `N views for "GREETING"`, with one of
// the five greetings, and returns N and the greeting.
func ParseText(t testing.TB, text string) (views int, greeting string) {
	t.Helper()
	m := pageText.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("page text %q does not read `N views for \"GREETING\"`", text)
	}
	if !slices.Contains(Greetings, m[2]) {
		t.Fatalf("page text %q: %q is none of the greetings %q", text, m[2], Greetings)
	}
	views, _ = strconv.Atoi(m[1])
	return views, m[2]
}

// ParsePage checks that body is exactly `<body>N views for "GREETING"</body>`,
// with one of the five greetings, and returns N and the greeting.
func ParsePage(t testing.TB, body string) (views int, greeting string) {
	t.Helper()
	inner, open := strings.CutPrefix(body, "<body>")
	inner, closed := strings.CutSuffix(inner, "</body>")
	if !open || !closed {
		t.Fatalf("page %q is not <body>…</body>", body)
	}
	return ParseText(t, inner)
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
func SessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == sessions.DefaultCookieName || c.Name == "session_id" {
			return c
		}
	}
	return nil
}
