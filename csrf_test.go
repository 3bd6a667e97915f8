package sessions

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// http.CrossOriginProtection round the session middleware refuses a
// cross-site POST before any session work: 403, no cookie, nothing stored;
// a same-origin POST, and a cross-site GET, go through.
func TestCrossOriginProtectionBeforeSessions(t *testing.T) {
	mem := NewMemoryStore()
	m := newManager(t, mem, Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		s, _ := FromContext(r.Context())
		_ = s.Set("cart", 1)
	})
	mux.HandleFunc("GET /", greet)
	h := http.NewCrossOriginProtection().Handler(m.Middleware(mux))

	for _, tt := range []struct {
		method, site string
		code         int
		session      bool
	}{
		{"POST", "cross-site", http.StatusForbidden, false},
		{"POST", "same-site", http.StatusForbidden, false},
		{"POST", "same-origin", http.StatusOK, true},
		{"GET", "cross-site", http.StatusOK, true},
	} {
		before := mem.Len()
		r := httptest.NewRequest(tt.method, map[string]string{"POST": "/cart", "GET": "/"}[tt.method], nil)
		r.Header.Set("Sec-Fetch-Site", tt.site)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		res := w.Result()
		created := mem.Len() - before
		if res.StatusCode != tt.code || (len(res.Cookies()) > 0) != tt.session || (created == 1) != tt.session {
			t.Errorf("%s with Sec-Fetch-Site %s: %d, cookies %v, %d sessions created; want %d and a session: %v",
				tt.method, tt.site, res.StatusCode, res.Cookies(), created, tt.code, tt.session)
		}
	}
}
