package sessions

import (
	"crypto/rand"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// parseID returns the session id carried by value, which must be a
// canonical lower-case version 4 UUID (RFC 9562): 36 characters,
// xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx with x a lower-case hex digit and Y
// one of 8, 9, a, b. Anything else (empty, paths, dots, reserved names, long
// or binary values, upper case) is no session id, so that no value a
// visitor chose can reach a document path. It allocates nothing.
func parseID(value string) (string, bool) {
	if len(value) != 36 {
		return "", false
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		case 14:
			if c != '4' {
				return "", false
			}
		case 19:
			if c != '8' && c != '9' && c != 'a' && c != 'b' {
				return "", false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return "", false
			}
		}
	}
	return value, true
}

// requestID returns the first well-formed session id among the request's
// cookies named name. It reads the Cookie headers as net/http does
// (pairs separated by ";", surrounding spaces and a value's double quotes
// ignored) but without allocating.
func requestID(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if id, ok := parseID(v); ok {
				return id, true
			}
		}
	}
	return "", false
}

// newID returns a fresh random session id: a version 4 UUID whose 122
// random bits come from crypto/rand, not from uuid's source, which any
// package in the process may replace with uuid.SetRand.
func newID() string {
	var id uuid.UUID
	rand.Read(id[:])          // never fails
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return id.String()
}

// cookie returns the session cookie carrying id, without a lifetime.
func (m *Manager) cookie(id string) *http.Cookie {
	return &http.Cookie{
		Name:        m.cfg.CookieName,
		Value:       id,
		Path:        m.cfg.Path,
		Domain:      m.cfg.Domain,
		Secure:      !m.cfg.Insecure,
		HttpOnly:    true,
		SameSite:    m.cfg.SameSite,
		Partitioned: m.cfg.Partitioned,
	}
}

// setCookie puts the session cookie for id, stored as rec, into h, in
// place of any session cookie already there: it lives until the session's
// deadline, or the browser's closing for a browser session.
func (m *Manager) setCookie(h http.Header, id string, rec Record) {
	if m.cfg.TokenHeader != "" {
		h.Set(m.cfg.tokenOut(), id)
		return
	}
	c := m.cookie(id)
	if !rec.BrowserSession {
		c.MaxAge = max(1, int(math.Ceil(rec.Deadline.Sub(m.now()).Seconds())))
	}
	m.replaceCookie(h, c)
}

// expireCookie tells the browser to drop the session cookie.
func (m *Manager) expireCookie(h http.Header) {
	if m.cfg.TokenHeader != "" {
		h.Set(m.cfg.tokenOut(), "")
		return
	}
	c := m.cookie("")
	c.MaxAge = -1
	m.replaceCookie(h, c)
}

func (m *Manager) replaceCookie(h http.Header, c *http.Cookie) {
	prefix := c.Name + "="
	h["Set-Cookie"] = append(slices.DeleteFunc(h["Set-Cookie"], func(v string) bool {
		return strings.HasPrefix(v, prefix)
	}), c.String())
}

// private marks a response of a session as depending on the cookie (or
// token header), and as no cache's to keep unless the handler says
// otherwise: set before the handler runs, which may relax Cache-Control for
// pages that allow it.
func (m *Manager) private(h http.Header) {
	vary := "Cookie"
	if m.cfg.TokenHeader != "" {
		vary = m.cfg.TokenHeader
	}
	if !containsToken(h.Values("Vary"), vary) {
		h.Add("Vary", vary)
	}
	h.Set("Cache-Control", "no-store")
}

// readID returns the well-formed session id the request carries, from its
// cookie or token header.
func (m *Manager) readID(r *http.Request) (string, bool) {
	if m.cfg.TokenHeader != "" {
		return tokenID(r, m.cfg.TokenHeader)
	}
	return requestID(r, m.cfg.CookieName)
}

// keepCookiePrivate is the last look at a response's headers: one that
// sets the session cookie is this visitor's alone, whatever Cache-Control
// the handler chose, so no shared cache stores it or serves it to anyone
// else.
func (m *Manager) keepCookiePrivate(h http.Header) {
	if m.cfg.TokenHeader != "" {
		if _, ok := h[m.cfg.tokenOut()]; ok {
			m.private(h)
		}
		return
	}
	prefix := m.cfg.CookieName + "="
	for _, v := range h["Set-Cookie"] {
		if strings.HasPrefix(v, prefix) {
			m.private(h)
			return
		}
	}
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
