package sessions

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The behaviour every Store must have, run over both implementations.

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

func TestStoreVisitCountsAndSlides(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		id, now := stored(t, st)
		later := now.Add(30 * time.Minute)
		rec, err := st.Visit(ctx, id, 3, later, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Views != 4 {
			t.Errorf("views = %d, want 4", rec.Views)
		}
		if !rec.Expires.Equal(later.Add(time.Hour)) {
			t.Errorf("expires = %v, want %v", rec.Expires, later.Add(time.Hour))
		}
		if !rec.Created.Equal(now) || !rec.Deadline.Equal(now.Add(24*time.Hour)) {
			t.Errorf("created, deadline = %v, %v; want %v, %v", rec.Created, rec.Deadline, now, now.Add(24*time.Hour))
		}
		if g, _ := rec.Values["greeting"].(string); g != "Hallo Welt" {
			t.Errorf("greeting = %q", g)
		}
		// The idle expiry never passes the deadline.
		rec, err = st.Visit(ctx, id, 1, now.Add(80*time.Minute), 30*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Expires.Equal(rec.Deadline) {
			t.Errorf("expires = %v, want the deadline %v", rec.Expires, rec.Deadline)
		}
	})
}

func TestStoreCreateExisting(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		id := newID()
		if err := st.Create(ctx, id, testRecord(storeNow())); err != nil {
			t.Fatal(err)
		}
		if err := st.Create(ctx, id, testRecord(storeNow())); !errors.Is(err, ErrExists) {
			t.Fatalf("second Create = %v, want ErrExists", err)
		}
	})
}

func TestStoreVisitMissingOrExpired(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		now := storeNow()
		if _, err := st.Visit(ctx, newID(), 1, now, time.Hour); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: %v, want ErrNotFound", err)
		}
		for name, rec := range map[string]Record{
			"idle":     {Views: 5, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Second), Deadline: now.Add(time.Hour)},
			"deadline": {Views: 5, Created: now.Add(-2 * time.Hour), Expires: now.Add(time.Hour), Deadline: now},
		} {
			id := newID()
			if err := st.Create(ctx, id, rec); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Visit(ctx, id, 1, now, time.Hour); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s expired: %v, want ErrNotFound", name, err)
			}
			// Visiting it did not bring it back.
			if _, err := st.Visit(ctx, id, 1, now, time.Hour); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s expired, second visit: %v, want ErrNotFound", name, err)
			}
		}
	})
}

func TestStoreValuesRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		now := storeNow()
		id := newID()
		when := time.Date(2026, 11, 22, 10, 30, 0, 123456000, time.UTC)
		want := map[string]any{
			"s": "päge", "i": int64(-7), "f": 2.5, "b": true, "t": when, "raw": []byte{0, 1, 255},
			"a.b": "dotted", "`q`": "quoted", "space key": "x",
		}
		rec := testRecord(now)
		rec.Values = nil
		if err := st.Create(ctx, id, rec); err != nil {
			t.Fatal(err)
		}
		if err := st.Update(ctx, id, want, nil); err != nil {
			t.Fatal(err)
		}
		got, err := st.Visit(ctx, id, 1, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Values) != len(want) {
			t.Errorf("values = %v, want %v", got.Values, want)
		}
		for k, w := range want {
			g := got.Values[k]
			switch w := w.(type) {
			case []byte:
				if b, ok := g.([]byte); !ok || !bytes.Equal(b, w) {
					t.Errorf("%q = %#v, want %#v", k, g, w)
				}
			case time.Time:
				if tt, ok := g.(time.Time); !ok || !tt.Equal(w) || tt.Location() != time.UTC {
					t.Errorf("%q = %#v, want %#v", k, g, w)
				}
			default:
				if g != w {
					t.Errorf("%q = %#v (%T), want %#v (%T)", k, g, g, w, w)
				}
			}
		}
	})
}

func TestStoreUpdateIsFieldLevel(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		id, now := stored(t, st)
		if err := st.Update(ctx, id, map[string]any{"a": "1"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Update(ctx, id, map[string]any{"b": "2"}, []string{"greeting"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Visit(ctx, id, 1, now, time.Hour); err != nil {
			t.Fatal(err)
		}
		rec, err := st.Visit(ctx, id, 1, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Values["a"] != "1" || rec.Values["b"] != "2" || rec.Values["greeting"] != nil || rec.Views != 3 {
			t.Errorf("record = %+v, want a=1 b=2, no greeting, 3 views", rec)
		}
		if err := st.Update(ctx, newID(), map[string]any{"a": "1"}, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("update of a missing session: %v, want ErrNotFound", err)
		}
		if err := st.Update(ctx, id, map[string]any{"__reserved__": "1"}, nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("reserved key: %v, want ErrInvalidKey", err)
		}
		if err := st.Update(ctx, id, map[string]any{"m": map[string]int{}}, nil); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("map value: %v, want ErrUnsupportedType", err)
		}
	})
}

func TestStoreRenameAndDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		now := storeNow()
		oldID, newID1 := newID(), newID()
		rec := testRecord(now)
		if err := st.Create(ctx, oldID, rec); err != nil {
			t.Fatal(err)
		}
		if err := st.Rename(ctx, oldID, newID1, rec); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Visit(ctx, oldID, 1, now, time.Hour); !errors.Is(err, ErrNotFound) {
			t.Errorf("old id after rename: %v, want ErrNotFound", err)
		}
		got, err := st.Visit(ctx, newID1, 1, now, time.Hour)
		if err != nil || got.Views != 2 || got.Values["greeting"] != "Hallo Welt" {
			t.Errorf("new id after rename: %+v, %v", got, err)
		}
		// A session destroyed meanwhile is not brought back by a rename.
		if err := st.Rename(ctx, oldID, newID(), rec); !errors.Is(err, ErrNotFound) {
			t.Errorf("rename of a missing session: %v, want ErrNotFound", err)
		}
		if err := st.Delete(ctx, newID1); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Visit(ctx, newID1, 1, now, time.Hour); !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
		if err := st.Delete(ctx, newID1); err != nil {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

func TestStoreDeleteExpired(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		now := storeNow()
		var live []string
		for i := range 5 {
			rec, id := testRecord(now), newID()
			if i < 3 {
				rec.Expires = now.Add(-time.Minute)
			} else {
				live = append(live, id)
			}
			if err := st.Create(ctx, id, rec); err != nil {
				t.Fatal(err)
			}
		}
		n, err := st.DeleteExpired(ctx, now)
		if err != nil || n != 3 {
			t.Fatalf("DeleteExpired = %d, %v; want 3", n, err)
		}
		for _, id := range live {
			if _, err := st.Visit(ctx, id, 1, now, time.Hour); err != nil {
				t.Errorf("live session swept: %v", err)
			}
		}
		if n, err := st.DeleteExpired(ctx, now); err != nil || n != 0 {
			t.Errorf("second sweep = %d, %v; want 0", n, err)
		}
	})
}

func TestStoreRejectsMalformedIDs(t *testing.T) {
	st, project := firestoreStore(t, FirestoreConfig{})
	ctx := context.Background()
	for _, id := range []string{"", "a/b", "..", "__x__", "x"} {
		if err := st.Create(ctx, id, testRecord(storeNow())); err == nil {
			t.Errorf("Create(%q) succeeded", id)
		}
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
	if _, err := st.Visit(ctx, id, 1, storeNow(), time.Hour); err != nil {
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
