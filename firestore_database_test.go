package sessions

import (
	"context"
	"errors"
	"testing"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// Two stores on two databases of one project keep their sessions apart,
// and two instances on one named database share theirs: the store's reads,
// writes and its Commit of a visit all go to the database it was opened on.
// (The Firestore emulator keeps each database id's documents apart.)
func TestFirestoreNamedDatabases(t *testing.T) {
	emulator.Require(t)
	project := emulator.ProjectID(t)
	one := openStore(t, project, FirestoreConfig{Database: "sessions-one"})
	oneAgain := openStore(t, project, FirestoreConfig{Database: "sessions-one", CacheSize: -1})
	two := openStore(t, project, FirestoreConfig{Database: "sessions-two", CacheSize: -1})
	def := openStore(t, project, FirestoreConfig{CacheSize: -1})
	if want := "projects/" + project + "/databases/sessions-one"; one.database != want {
		t.Fatalf("store's database %q, want %q", one.database, want)
	}

	v := &visitor{t: t, h: newManager(t, one, Config{}).Middleware(greet)}
	v.get("/")
	v.get("/") // a visit: the Commit of the raw client
	ctx := context.Background()
	rec, err := viewOf(ctx, oneAgain, v.id, 1)
	if err != nil || rec.Views != 3 {
		t.Fatalf("another instance on the database: %d views, %v; want 3", rec.Views, err)
	}
	for name, st := range map[string]*FirestoreStore{"another database": two, "the default database": def} {
		if _, err := viewOf(ctx, st, v.id, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s sees the session: %v", name, err)
		}
	}
	// The session's id on the other database is a session of its own.
	w := &visitor{t: t, h: newManager(t, two, Config{}).Middleware(greet), id: v.id}
	if res := w.get("/"); res.cookie == nil || res.cookie.Value == v.id {
		t.Errorf("the other database resumed the session: cookie %v", res.cookie)
	}
	if docs := documents(t, project); len(docs) != 0 {
		t.Errorf("the default database holds %v", docs)
	}
}
