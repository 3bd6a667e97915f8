package sessions

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSecureCookieOverPlainHTTPWarnsOnce(t *testing.T) {
	type request struct {
		remote, proto string
		tls           bool
	}
	far := request{remote: "10.0.0.7:41000"}
	cases := []struct {
		name     string
		cfg      Config
		with     []RouteOption
		requests []request
		want     int
	}{
		{"plain HTTP from afar, twice", Config{}, nil, []request{far, far}, 1},
		{"and through a With", Config{}, []RouteOption{Lazy()}, []request{far, far}, 1},
		{"IPv4 loopback", Config{}, nil, []request{{remote: "127.0.0.1:41000"}}, 0},
		{"IPv6 loopback", Config{}, nil, []request{{remote: "[::1]:41000"}}, 0},
		{"behind a TLS proxy", Config{}, nil, []request{{remote: far.remote, proto: "https"}}, 0},
		{"over TLS", Config{}, nil, []request{{remote: far.remote, tls: true}}, 0},
		{"Insecure", Config{Insecure: true}, nil, []request{far}, 0},
		{"no cookie: token", Config{TokenHeader: "Authorization"}, nil, []request{far}, 0},
		{"no cookie: lazy", Config{Lazy: true}, nil, []request{far}, 0},
		{"plain HTTP from a proxy for http", Config{}, nil, []request{{remote: far.remote, proto: "http"}}, 1},
		{"httptest's documentation address", Config{}, nil, []request{{remote: "192.0.2.1:1234"}}, 0},
		{"IPv6 from afar", Config{}, nil, []request{{remote: "[2a00:1450::1]:41000"}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			c.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			m := newManager(t, NewMemoryStore(), c.cfg)
			h := m.Middleware(greet)
			for i, req := range c.requests {
				r := httptest.NewRequest("GET", "/", nil)
				r.RemoteAddr = req.remote
				if req.proto != "" {
					r.Header.Set("X-Forwarded-Proto", req.proto)
				}
				if req.tls {
					r.TLS = &tls.ConnectionState{}
				}
				if i == 1 && c.with != nil {
					h = m.With(c.with...).Middleware(greet)
				}
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			got := strings.Count(logs.String(), "level=WARN")
			if got != c.want {
				t.Errorf("%d warnings, want %d; logs:\n%s", got, c.want, logs.String())
			}
			if c.want > 0 && (!strings.Contains(logs.String(), "Config.Insecure") || !strings.Contains(logs.String(), "X-Forwarded-Proto: https")) {
				t.Errorf("the warning does not say what to set:\n%s", logs.String())
			}
		})
	}
}

// A session cookie set later, by Renew, warns as a new session's does.
func TestSecureCookieOverPlainHTTPWarnsOnRenew(t *testing.T) {
	var logs bytes.Buffer
	m := newManager(t, NewMemoryStore(), Config{Lazy: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		_ = s.Renew(r.Context())
	}))
	r := httptest.NewRequest("GET", "/login", nil)
	r.RemoteAddr = "10.0.0.7:41000"
	h.ServeHTTP(httptest.NewRecorder(), r)
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want 1; logs:\n%s", n, logs.String())
	}
}
