package sessions

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// Helpers of the tests that use stores directly. The behaviour every Store
// must have is sessionstest.TestStore, run over both stores in
// store_suite_test.go.

func testRecord(now time.Time) Record {
	return Record{
		Views:  1,
		Values: map[string]any{"greeting": "Hallo Welt"},
		Attrs:  Attrs{Created: now, Renewed: now, Expires: now.Add(time.Hour), Deadline: now.Add(24 * time.Hour)},
	}
}

func storeNow() time.Time { return storeTime(time.Now()) }

// stored creates a session of testRecord in st, now, and returns its id
// and the time; its key is Handle(id).
func stored(t *testing.T, st Store) (string, time.Time) {
	t.Helper()
	now, id := storeNow(), newID()
	if _, err := st.Commit(context.Background(), createMutation(Handle(id), testRecord(now))); err != nil {
		t.Fatal(err)
	}
	return id, now
}

// viewOf counts n views of the session id in st, as the Manager does.
func viewOf(ctx context.Context, st Store, id string, n int64) (Record, error) {
	res, err := st.Commit(ctx, Mutation{Key: Handle(id), AddViews: n})
	if err != nil {
		return Record{}, err
	}
	return res[0], nil
}

// update saves set and unset to the session id in st, as a request's save
// does.
func update(st Store, ctx context.Context, id string, set map[string]any, unset []string) error {
	_, err := st.Commit(ctx, Mutation{Key: Handle(id), Set: set, Unset: unset})
	return err
}

// deleteID deletes the session id from st.
func deleteID(ctx context.Context, st Store, id string) error {
	_, err := st.Commit(ctx, Mutation{Key: Handle(id), Delete: true})
	return err
}

func TestFirestoreDocumentsAreNamedByHashedIDs(t *testing.T) {
	st, project := firestoreStore(t, FirestoreConfig{Collection: "web_sessions"})
	ctx := context.Background()
	id, _ := stored(t, st)
	if _, err := viewOf(ctx, st, id, 1); err != nil {
		t.Fatal(err)
	}
	docs := documents(t, project)
	if len(docs) != 1 || len(docs[0]) != len("web_sessions/")+64 || docs[0][:13] != "web_sessions/" {
		t.Fatalf("documents = %v, want one web_sessions/<sha256 hex>", docs)
	}
	for _, d := range docs {
		if bytes.Contains([]byte(d), []byte(id)) {
			t.Errorf("document %s names the live session id", d)
		}
	}
}

// Keys are the Manager's; a store refuses others, so that nothing reaches
// a document path but a key.
func TestFirestoreWritesNoDocumentForInvalidKeys(t *testing.T) {
	st, project := firestoreStore(t, FirestoreConfig{})
	ctx := context.Background()
	for _, key := range []string{"", "a/b", "..", "__x__", "A", "a b", string(make([]byte, 101))} {
		if _, err := st.Commit(ctx, createMutation(key, testRecord(storeNow()))); err == nil {
			t.Errorf("Create under %q succeeded", key)
		}
		if _, err := st.Get(ctx, key); err == nil {
			t.Errorf("Get of %q succeeded", key)
		}
	}
	if docs := documents(t, project); len(docs) != 0 {
		t.Errorf("documents written: %v", docs)
	}
}
