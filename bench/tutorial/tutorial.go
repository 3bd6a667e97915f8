// Package tutorial is a Go port of the app of Google's tutorial "Handling
// sessions with Firestore" (Flask, main.py), the baseline of the load
// benchmarks: each request runs one Firestore transaction (the client
// library's RunTransaction) that reads the session document named by the
// session_id cookie, creates it as {greeting: random, views: 0} when it is
// missing, adds one view and writes the whole document back with Set.
//
// Like the original it trusts the cookie's value as a document id and keeps
// no expiry; it is a baseline, not an example to follow.
package tutorial

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"

	"cloud.google.com/go/firestore"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Greetings are the tutorial's greetings.
var Greetings = []string{
	"Hello World",
	"Hallo Welt",
	"Ciao Mondo",
	"Salut le Monde",
	"Hola Mundo",
}

// Handler serves the tutorial's page from the collection "sessions" of
// client's database.
func Handler(client *firestore.Client) http.Handler {
	sessions := client.Collection("sessions")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		var id string
		if c, err := r.Cookie("session_id"); err == nil {
			id = c.Value
		}
		views, greeting, id, err := sessionData(r.Context(), client, sessions, id)
		if err != nil {
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session_id", Value: id, HttpOnly: true})
		fmt.Fprintf(w, "<body>%d views for %q</body>", views, greeting)
	})
}

// sessionData is get_session_data: it looks up (or creates) the session
// with the given id, creating a random id if none is given, and counts this
// view, in one transaction.
func sessionData(ctx context.Context, client *firestore.Client, sessions *firestore.CollectionRef, id string) (views int64, greeting, sessionID string, err error) {
	if id == "" {
		id = uuid.NewString()
	}
	ref := sessions.Doc(id)
	if ref == nil {
		return 0, "", "", fmt.Errorf("tutorial: invalid session id %q", id)
	}
	err = client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		session := map[string]any{}
		snap, err := tx.Get(ref)
		switch {
		case err == nil:
			session = snap.Data()
		case status.Code(err) == codes.NotFound:
			session["greeting"] = Greetings[rand.IntN(len(Greetings))]
			session["views"] = int64(0)
		default:
			return err
		}
		views, _ = session["views"].(int64)
		views++ // this counts as a view
		session["views"] = views
		greeting, _ = session["greeting"].(string)
		return tx.Set(ref, session)
	})
	if err != nil {
		return 0, "", "", err
	}
	return views, greeting, id, nil
}
