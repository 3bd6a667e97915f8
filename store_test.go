package sessions

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Helpers of the tests that use stores directly. The behaviour every Store
// must have is sessionstest.TestStore, run over both stores in
// store_suite_test.go.

func testRecord(now time.Time) Record {
	return Record{
		Views:    1,
		Created:  now,
		Expires:  now.Add(time.Hour),
		Deadline: now.Add(24 * time.Hour),
		Values:   map[string]any{"greeting": "Hallo Welt"},
	}
}

func storeNow() time.Time { return storeTime(time.Now()) }

// stored creates a session of testRecord in st, now, and returns its id and
// the time.
func stored(t *testing.T, st Store) (string, time.Time) {
	t.Helper()
	now, id := storeNow(), newID()
	if err := st.Create(context.Background(), id, testRecord(now)); err != nil {
		t.Fatal(err)
	}
	return id, now
}

// Beyond refusing them (sessionstest checks that), no malformed id makes a
// document of any name.
func TestFirestoreWritesNoDocumentForMalformedIDs(t *testing.T) {
	st, project := firestoreStore(t, FirestoreConfig{})
	ctx := context.Background()
	for _, id := range []string{"", "a/b", "..", "__x__", "x", "a/b/c/d"} {
		if err := st.Create(ctx, id, testRecord(storeNow())); err == nil {
			t.Errorf("Create(%q) succeeded", id)
		}
		_ = update(st, ctx, id, map[string]any{"k": "v"}, nil)
	}
	if docs := documents(t, project); len(docs) != 0 {
		t.Errorf("documents written: %v", docs)
	}
}

func TestFirestoreDocumentsAreNamedByHashedIDs(t *testing.T) {
	st, project := firestoreStore(t, FirestoreConfig{Collection: "web_sessions"})
	ctx := context.Background()
	id := uuid.NewString()
	if err := st.Create(ctx, id, testRecord(storeNow())); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Visit(ctx, id, 1); err != nil {
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

// The package's stores check keys and values again, for callers other than
// a Session.
func TestStoresRefuseInvalidChanges(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		id, _ := stored(t, st)
		if err := update(st, ctx, id, map[string]any{"__reserved__": "1"}, nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("reserved key: %v, want ErrInvalidKey", err)
		}
		if err := update(st, ctx, id, map[string]any{"m": map[int]string{}}, nil); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("map with int keys: %v, want ErrUnsupportedType", err)
		}
		if err := update(st, ctx, id, map[string]any{"big": make([]byte, MaxDocumentBytes)}, nil); !errors.Is(err, ErrTooLarge) {
			t.Errorf("1 MiB value: %v, want ErrTooLarge", err)
		}
	})
}

// update saves set and del to the session id in st, as a request's save
// does.
func update(st Store, ctx context.Context, id string, set map[string]any, del []string) error {
	_, err := st.Apply(ctx, id, Change{Set: set, Delete: del})
	return err
}
