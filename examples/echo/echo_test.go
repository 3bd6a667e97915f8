package echoexample_test

import (
	"testing"

	"github.com/firestore-sessions/sessions/examples/internal/apptest"
)

// On Echo, through echo.WrapMiddleware, the middleware works as on
// net/http: the handler writes through the middleware's writer, so Renew's
// cookie goes out with the answer.
func TestEchoRouter(t *testing.T) { apptest.Run(t, newRouter) }
