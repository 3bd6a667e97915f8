package sessions_test

import (
	"context"
	"log"
	"net/http"

	"cloud.google.com/go/firestore"
	"github.com/firestore-sessions/sessions"
	"github.com/justinas/alice"
)

// Sessions in Firestore, shared by every instance of the app: the project
// comes from the environment (on App Engine and Cloud Run, the app's own),
// or the emulator when FIRESTORE_EMULATOR_HOST is set.
func ExampleOpenFirestore() {
	ctx := context.Background()
	store, err := sessions.OpenFirestore(ctx, firestore.DetectProjectID, sessions.FirestoreConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		log.Printf("Firestore does not answer yet: %v", err)
	}
	m, err := sessions.New(store, sessions.Config{})
	if err != nil {
		log.Fatal(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		_ = s.Set("last_path", r.URL.Path)
	})
	log.Fatal(http.ListenAndServe(":8080", alice.New(m.Middleware).Then(page)))
}

// A project with several Firestore databases, such as one per environment:
// Database names the one that keeps the sessions.
func ExampleOpenFirestore_namedDatabase() {
	ctx := context.Background()
	store, err := sessions.OpenFirestore(ctx, "my-project", sessions.FirestoreConfig{Database: "sessions-staging"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Ping(ctx); err != nil {
		log.Fatalf("database sessions-staging: %v", err) // missing, or no permission
	}
	m, err := sessions.New(store, sessions.Config{})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe(":8080", m.Middleware(http.NotFoundHandler())))
}
