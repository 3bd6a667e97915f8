package sessions

import (
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// plainFromAfar reports whether r came over plain HTTP from another host:
// not over TLS, not from a loopback address, and not through a proxy that
// says it terminated TLS (X-Forwarded-Proto: https). Addresses reserved for
// documentation (RFC 5737), which no real client has, do not count:
// httptest.NewRequest's requests come from 192.0.2.1, and tests of an app's
// handlers need no warning.
func plainFromAfar(r *http.Request) bool {
	if r.TLS != nil {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	if strings.EqualFold(strings.TrimSpace(proto), "https") {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false // not an IP address (a Unix socket): no telling
	}
	a := ap.Addr().Unmap()
	return !a.IsLoopback() && !slices.ContainsFunc(documentation, func(p netip.Prefix) bool { return p.Contains(a) })
}

// documentation holds the IPv4 ranges reserved for documentation (RFC 5737).
var documentation = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

// warnPlainHTTP logs, once for the Manager and its With, that the Secure
// session cookie that h sets, in answer to r, a plain-HTTP request from
// another host, will not come back.
func (m *Manager) warnPlainHTTP(r *http.Request, h http.Header) {
	prefix := m.cfg.CookieName + "="
	if !slices.ContainsFunc(h["Set-Cookie"], func(v string) bool {
		return strings.HasPrefix(v, prefix) && !strings.HasPrefix(v, prefix+";")
	}) || !m.plainHTTPWarned.CompareAndSwap(false, true) {
		return
	}
	m.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn,
		"sessions: a Secure session cookie was set in answer to plain HTTP: browsers neither keep nor send back Secure cookies on http:// pages, so each of this client's requests starts a new session. "+
			"Serve HTTPS; behind a proxy that terminates TLS, have it send X-Forwarded-Proto: https; for local development over plain HTTP, set Config.Insecure. Logged once.",
		slog.String("remote", r.RemoteAddr),
		slog.String("host", r.Host),
		slog.String("path", r.URL.Path))
}
