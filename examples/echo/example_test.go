package echoexample_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/firestore-sessions/sessions"
	"github.com/labstack/echo/v4"
)

// newRouter is an app on Echo: pages with a cookie session, an API with a
// token session (one Manager for both, through With), a health check with
// no session at all, and cross-site request forgery protection in front of
// everything.
func newRouter(m *sessions.Manager) http.Handler {
	e := echo.New()
	e.Use(echo.WrapMiddleware(http.NewCrossOriginProtection().Handler))
	session := echo.WrapMiddleware(m.Middleware)

	e.GET("/healthz", func(c echo.Context) error {
		return c.String(http.StatusOK, "ok")
	})
	e.GET("/", func(c echo.Context) error {
		s, _ := sessions.FromContext(c.Request().Context())
		user, _ := s.GetString("user")
		return c.String(http.StatusOK, fmt.Sprintf("view %d, user %q", s.Views(), user))
	}, session)
	e.POST("/login", func(c echo.Context) error {
		s, _ := sessions.FromContext(c.Request().Context())
		if err := s.Renew(c.Request().Context()); err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "try again")
		}
		_ = s.Set("user", "ada")
		return c.Redirect(http.StatusSeeOther, "/")
	}, session)

	api := e.Group("/api", echo.WrapMiddleware(m.With(sessions.Token("Authorization")).Middleware))
	api.GET("/me", func(c echo.Context) error {
		s, _ := sessions.FromContext(c.Request().Context())
		return c.String(http.StatusOK, fmt.Sprintf(`{"views":%d}`, s.Views()))
	})
	return e
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
