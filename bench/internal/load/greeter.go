package load

import (
	"fmt"
	"math/rand/v2"
	"net/http"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/bench/tutorial"
)

// GreeterHandler is the greeter app (cmd/greeter of the library) built in
// this process: the tutorial's page, served by the library's middleware with
// store, a Firestore store made as the greeter makes it
// (sessions.OpenFirestore, collection "sessions"). Building it here lets the
// load runner count its Firestore RPCs with a client interceptor on the
// store's connection, exactly as for the tutorial port.
func GreeterHandler(store sessions.Store) (http.Handler, error) {
	m, err := sessions.New(store, sessions.Config{
		Insecure: true, // plain HTTP on loopback
		OnCreate: func(r *http.Request, s *sessions.Session) error {
			return s.Set("greeting", tutorial.Greetings[rand.IntN(len(tutorial.Greetings))])
		},
	})
	if err != nil {
		return nil, err
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		greeting, _ := s.GetString("greeting")
		fmt.Fprintf(w, "<body>%d views for %q</body>", s.Views(), greeting)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", m.Middleware(page))
	return mux, nil
}
