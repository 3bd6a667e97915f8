package greeterdrive

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Greetings are the five greetings of the tutorial, one of which the
// greeter gives each new session.
var Greetings = []string{"Hello World", "Hallo Welt", "Ciao Mondo", "Salut le Monde", "Hola Mundo"}

// The session cookie's names: __Host-session_id where it is Secure (on
// Google Cloud), session_id on http://localhost (the library's
// DefaultCookieName and DefaultPlainCookieName, which a test of this package
// checks).
const (
	CookieName      = "__Host-session_id"
	PlainCookieName = "session_id"
)

// maxGreetingBytes bounds the greeting ParseText accepts.
const maxGreetingBytes = 200

// pageText is the page's text as a browser shows it; the page adds the
// tags. Go's %q and the greeter's html.EscapeString agree on every greeting
// the text allows.
var pageText = regexp.MustCompile(`^(\d+) views for "([^"<>&\\]*)"$`)

// ParseText reads `N views for "GREETING"`, the text of the greeter's page,
// and returns N and the greeting (any, not only one of Greetings: see
// Known).
func ParseText(text string) (views int64, greeting string, err error) {
	m := pageText.FindStringSubmatch(text)
	if m == nil || len(m[2]) > maxGreetingBytes {
		return 0, "", fmt.Errorf("page text %q does not read `N views for \"GREETING\"`", truncate(text, 120))
	}
	views, err = strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("page text %q: %w", truncate(text, 120), err)
	}
	return views, m[2], nil
}

// ParsePage reads the greeter's page, exactly `<body>N views for
// "GREETING"</body>`, and returns N and the greeting.
func ParsePage(body string) (views int64, greeting string, err error) {
	inner, open := strings.CutPrefix(body, "<body>")
	inner, closed := strings.CutSuffix(inner, "</body>")
	if !open || !closed {
		return 0, "", fmt.Errorf("page %q is not <body>…</body>", truncate(body, 120))
	}
	return ParseText(inner)
}

// Known reports an error unless greeting is one of Greetings.
func Known(greeting string) error {
	if !slices.Contains(Greetings, greeting) {
		return fmt.Errorf("%q is none of the greetings %q", greeting, Greetings)
	}
	return nil
}

// SessionCookie returns the session cookie that resp sets, or nil.
func SessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == CookieName || c.Name == PlainCookieName {
			return c
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
