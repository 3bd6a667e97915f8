package chiexample_test

import (
	"testing"

	"github.com/firestore-sessions/sessions/examples/internal/apptest"
)

// On chi, the middleware works as on net/http: the session cookie of a new
// session, Renew's new cookie at login, a token route on the same Manager,
// no session where the middleware is not used, and a forged cross-site POST
// refused before any session work.
func TestChiRouter(t *testing.T) { apptest.Run(t, newRouter) }
