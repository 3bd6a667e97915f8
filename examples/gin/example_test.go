package ginexample_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/examples/gin"
	"github.com/gin-gonic/gin"
)

// newRouter is an app on Gin: pages with a cookie session, an API with a
// token session (one Manager for both, through With), a health check with
// no session at all, and cross-site request forgery protection in front of
// everything.
func newRouter(m *sessions.Manager) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(ginexample.Wrap(http.NewCrossOriginProtection().Handler))

	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	pages := r.Group("/", ginexample.Wrap(m.Middleware))
	pages.GET("/", func(c *gin.Context) {
		s, _ := sessions.FromContext(c.Request.Context())
		user, _ := s.GetString("user")
		c.String(http.StatusOK, "view %d, user %q", s.Views(), user)
	})
	pages.POST("/login", func(c *gin.Context) {
		s, _ := sessions.FromContext(c.Request.Context())
		if err := s.Renew(c.Request.Context()); err != nil {
			c.String(http.StatusServiceUnavailable, "try again")
			return
		}
		_ = s.Set("user", "ada")
		c.Redirect(http.StatusSeeOther, "/")
	})

	api := r.Group("/api", ginexample.Wrap(m.With(sessions.Token("Authorization")).Middleware))
	api.GET("/me", func(c *gin.Context) {
		s, _ := sessions.FromContext(c.Request.Context())
		c.String(http.StatusOK, `{"views":%d}`, s.Views())
	})
	return r
}

func Example() {
	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{})
	if err != nil {
		panic(err)
	}
	app := newRouter(m)
	var cookie *http.Cookie
	for _, path := range []string{"GET /", "POST /login", "GET /", "GET /healthz"} {
		method, path, _ := strings.Cut(path, " ")
		r := httptest.NewRequest(method, path, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
		fmt.Println(strings.TrimSpace(fmt.Sprint(method, " ", path, " ", w.Code, " ", w.Body.String())))
	}
	// Output:
	// GET / 200 view 1, user ""
	// POST /login 303
	// GET / 200 view 3, user "ada"
	// GET /healthz 200 ok
}
