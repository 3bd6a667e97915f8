package load

import (
	"fmt"
	"math/rand/v2"
	"net/http"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/bench/tutorial"
)

// GreeterHandler is the greeter app (cmd/greeter of the library) built in
// this process: the tutorial's page, served by the library's middleware with
// its Firestore store (collection "sessions", ids not hashed), set up as
// sessions.OpenFirestore sets it up for the greeter: with the low-level
// client raw too, on the same connection, for two-round-trip visits.
// Building it here lets the load runner count its Firestore RPCs with a
// client interceptor, exactly as for the tutorial port.
func GreeterHandler(client *firestore.Client, raw *apiv1.Client) (http.Handler, error) {
	store := sessions.NewFirestoreStore(client, sessions.FirestoreConfig{Raw: raw})
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
