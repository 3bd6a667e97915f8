package ginexample_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/examples/gin"
	"github.com/firestore-sessions/sessions/examples/internal/apptest"
	"github.com/gin-gonic/gin"
)

// On Gin, through Wrap, the middleware works as on net/http: the handler
// writes through the middleware's writer, so Renew's cookie goes out with
// the redirect.
func TestGinRouter(t *testing.T) { apptest.Run(t, newRouter) }

// downStore is a store that cannot be reached.
type downStore struct{ sessions.Store }

func (downStore) Commit(ctx context.Context, ms ...sessions.Mutation) ([]sessions.Record, error) {
	return nil, fmt.Errorf("%w: down", sessions.ErrUnavailable)
}

func (downStore) Get(ctx context.Context, key string) (sessions.Record, error) {
	return sessions.Record{}, fmt.Errorf("%w: down", sessions.ErrUnavailable)
}

// When the middleware answers by itself (503: the store is down), the rest
// of Gin's chain does not run; a handler that ends with c.AbortWithStatus,
// which sends the headers itself, still sends Destroy's cookie.
func TestGinAbort(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	ran := false
	down, err := sessions.New(downStore{sessions.NewMemoryStore()}, sessions.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.GET("/", ginexample.Wrap(down.Middleware), func(c *gin.Context) { ran = true })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusServiceUnavailable || ran {
		t.Errorf("store down: %d, handler ran: %v; want 503 and no handler", w.Code, ran)
	}

	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r = gin.New()
	r.Use(ginexample.Wrap(m.Middleware))
	r.GET("/", func(c *gin.Context) {})
	r.POST("/logout", func(c *gin.Context) {
		s, _ := sessions.FromContext(c.Request.Context())
		_ = s.Destroy(c.Request.Context())
		c.AbortWithStatus(http.StatusNoContent)
	})
	w = httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("new session: cookies %v", cookies)
	}
	req := httptest.NewRequest("POST", "/logout", nil)
	req.AddCookie(cookies[0])
	w = httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if c := w.Result().Cookies(); w.Code != http.StatusNoContent || len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout: %d, cookies %v; want 204 and the cookie expired", w.Code, c)
	}
}
