package sessions

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// parseID returns the session id carried by value, which must be a
// canonical lower-case version 4 UUID: 36 characters that parse and format
// back to exactly the same string. Anything else (empty, paths, dots,
// reserved names, long or binary values) is no session id, so that no value
// a visitor chose can reach a document path.
func parseID(value string) (string, bool) {
	if len(value) != 36 {
		return "", false
	}
	u, err := uuid.Parse(value)
	if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != value {
		return "", false
	}
	return value, true
}

// requestID returns the first well-formed session id among the request's
// cookies named name.
func requestID(r *http.Request, name string) (string, bool) {
	for _, c := range r.CookiesNamed(name) {
		if id, ok := parseID(c.Value); ok {
			return id, true
		}
	}
	return "", false
}

// newID returns a fresh random session id.
func newID() string { return uuid.NewString() }

// cookie returns the session cookie carrying id, without a lifetime.
func (m *Manager) cookie(id string) *http.Cookie {
	return &http.Cookie{
		Name:     m.cfg.CookieName,
		Value:    id,
		Path:     "/",
		Domain:   m.cfg.Domain,
		Secure:   !m.cfg.Insecure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// setCookie puts the session cookie for id, living until expires, into h,
// in place of any session cookie already there, and marks the response as
// private to this visitor.
func (m *Manager) setCookie(h http.Header, id string, expires time.Time) {
	c := m.cookie(id)
	c.MaxAge = max(1, int(math.Ceil(expires.Sub(m.now()).Seconds())))
	m.replaceCookie(h, c)
}

// expireCookie tells the browser to drop the session cookie.
func (m *Manager) expireCookie(h http.Header) {
	c := m.cookie("")
	c.MaxAge = -1
	m.replaceCookie(h, c)
}

func (m *Manager) replaceCookie(h http.Header, c *http.Cookie) {
	prefix := c.Name + "="
	h["Set-Cookie"] = append(slices.DeleteFunc(h["Set-Cookie"], func(v string) bool {
		return strings.HasPrefix(v, prefix)
	}), c.String())
	// A response that sets a session cookie is this visitor's alone: shared
	// caches must neither store it nor serve it to anyone else.
	if !containsToken(h.Values("Vary"), "Cookie") {
		h.Add("Vary", "Cookie")
	}
	h.Set("Cache-Control", "no-store")
}

func containsToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
