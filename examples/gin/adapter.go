package ginexample

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Wrap adapts a net/http middleware, such as a sessions Manager's
// Middleware, to Gin: engine.Use(ginexample.Wrap(m.Middleware)). The rest
// of Gin's chain runs inside the middleware, with the request it passes
// on (and so the session in its context), writing through its writer; a
// middleware that answers by itself, such as a 503 when the store is down,
// ends the chain.
func Wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		called := false
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			gw := c.Writer
			c.Request, c.Writer = r, &writer{ResponseWriter: gw, w: w}
			c.Next()
			c.Writer = gw
		})).ServeHTTP(c.Writer, c.Request)
		if !called {
			c.Abort()
		}
	}
}

// writer is Gin's writer with the header and body calls sent through the
// middleware's writer w, which wraps Gin's; the rest (Status, Size,
// Written...) is Gin's.
type writer struct {
	gin.ResponseWriter
	w http.ResponseWriter
}

func (g *writer) Header() http.Header               { return g.w.Header() }
func (g *writer) WriteHeader(code int)              { g.w.WriteHeader(code) }
func (g *writer) Write(b []byte) (int, error)       { return g.w.Write(b) }
func (g *writer) WriteString(s string) (int, error) { return io.WriteString(g.w, s) }
func (g *writer) Flush()                            { _ = http.NewResponseController(g.w).Flush() }
func (g *writer) Unwrap() http.ResponseWriter       { return g.w }

// WriteHeaderNow sends the headers as Gin does (c.AbortWithStatus calls
// it), after the middleware's last look at them.
func (g *writer) WriteHeaderNow() {
	g.w.WriteHeader(g.ResponseWriter.Status())
	g.ResponseWriter.WriteHeaderNow()
}
