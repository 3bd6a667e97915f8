package sessions

import (
	"math"
	"net/http"
	"slices"
	"strings"
)

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
