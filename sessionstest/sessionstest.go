// Package sessionstest checks that a [sessions.Store] keeps the contract
// the middleware relies on, in the manner of testing/fstest: the package's
// own stores pass it, and a store of yours should too.
//
//	func TestMyStore(t *testing.T) {
//		sessionstest.TestStore(t, func(t *testing.T) sessions.Store {
//			return mystore.New(...) // a new, empty store
//		})
//	}
package sessionstest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/google/uuid"
)

// TestStore runs the contract's tests, each as a subtest of t on a store
// that newStore returns: a new, empty store each time (DeleteExpired counts
// what it removes). newStore may call t.Skip or t.Fatal, and register its
// clean-up with t.Cleanup.
func TestStore(t *testing.T, newStore func(t *testing.T) sessions.Store) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, st sessions.Store)
	}{
		{"VisitCountsAndSlides", visitCountsAndSlides},
		{"CreateExisting", createExisting},
		{"VisitMissingOrExpired", visitMissingOrExpired},
		{"ValuesRoundTrip", valuesRoundTrip},
		{"UpdateIsFieldLevel", updateIsFieldLevel},
		{"RenameAndDelete", renameAndDelete},
		{"DeleteExpired", deleteExpired},
		{"MalformedIDs", malformedIDs},
		{"ConcurrentVisits", concurrentVisits},
		{"ConcurrentUpdates", concurrentUpdates},
		{"CancelledContext", cancelledContext},
		{"NestedValues", nestedValues},
		{"Attrs", attrs},
		{"Owners", owners},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, newStore(t)) })
	}
}

// now returns the time as stores give it back: UTC, microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func record(now time.Time) sessions.Record {
	return sessions.Record{
		Views:    1,
		Created:  now,
		Expires:  now.Add(time.Hour),
		Deadline: now.Add(24 * time.Hour),
		Values:   map[string]any{"greeting": "Hallo Welt"},
	}
}

// stored creates a session of record(now) in st and returns its id and
// the time.
func stored(t *testing.T, st sessions.Store) (string, time.Time) {
	t.Helper()
	now, id := now(), uuid.NewString()
	if err := st.Create(context.Background(), id, record(now)); err != nil {
		t.Fatal(err)
	}
	return id, now
}

func visitCountsAndSlides(t *testing.T, st sessions.Store) {
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
	// The record handed out is the caller's: changing it changes nothing
	// stored.
	rec.Values["greeting"] = "changed"
	if rec, err = st.Visit(ctx, id, 1, now, time.Hour); err != nil || rec.Values["greeting"] != "Hallo Welt" {
		t.Errorf("after changing a returned record: %v, %v; want the greeting unchanged", rec.Values, err)
	}
}

func createExisting(t *testing.T, st sessions.Store) {
	id, now := stored(t, st)
	if err := st.Create(context.Background(), id, record(now)); !errors.Is(err, sessions.ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
}

func visitMissingOrExpired(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	now := now()
	if _, err := st.Visit(ctx, uuid.NewString(), 1, now, time.Hour); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	for name, rec := range map[string]sessions.Record{
		"idle":     {Views: 5, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Second), Deadline: now.Add(time.Hour)},
		"deadline": {Views: 5, Created: now.Add(-2 * time.Hour), Expires: now.Add(time.Hour), Deadline: now},
	} {
		id := uuid.NewString()
		if err := st.Create(ctx, id, rec); err != nil {
			t.Fatal(err)
		}
		for range 2 { // and visiting it does not bring it back
			if _, err := st.Visit(ctx, id, 1, now, time.Hour); !errors.Is(err, sessions.ErrNotFound) {
				t.Errorf("%s expired: %v, want ErrNotFound", name, err)
			}
		}
	}
}

func valuesRoundTrip(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	now := now()
	id := uuid.NewString()
	when := time.Date(2026, 11, 22, 10, 30, 0, 123456000, time.UTC)
	want := map[string]any{
		"s": "päge", "i": int64(-7), "f": 2.5, "b": true, "t": when, "raw": []byte{0, 1, 255},
		"a.b": "dotted", "`q`": "quoted", "space key": "x",
	}
	rec := record(now)
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
}

func updateIsFieldLevel(t *testing.T, st sessions.Store) {
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
	if err := st.Update(ctx, uuid.NewString(), map[string]any{"a": "1"}, nil); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("update of a missing session: %v, want ErrNotFound", err)
	}
}

func renameAndDelete(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	oldID, now := stored(t, st)
	newID := uuid.NewString()
	if err := st.Rename(ctx, oldID, newID, record(now)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Visit(ctx, oldID, 1, now, time.Hour); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("old id after rename: %v, want ErrNotFound", err)
	}
	got, err := st.Visit(ctx, newID, 1, now, time.Hour)
	if err != nil || got.Views != 2 || got.Values["greeting"] != "Hallo Welt" {
		t.Errorf("new id after rename: %+v, %v", got, err)
	}
	// A session destroyed meanwhile is not brought back by a rename.
	if err := st.Rename(ctx, oldID, uuid.NewString(), record(now)); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("rename of a missing session: %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, newID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Visit(ctx, newID, 1, now, time.Hour); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, newID); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}

func deleteExpired(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	now := now()
	var live []string
	for i := range 5 {
		rec, id := record(now), uuid.NewString()
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
}

// malformedIDs: only canonical lower-case version 4 UUIDs name sessions.
// Whatever a visitor puts in a cookie, a store writes nothing under it.
func malformedIDs(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	id, now := stored(t, st)
	for _, bad := range []string{"", "x", "a/b", "..", "__x__", "../" + id, id + "/x", "C4E0B5B2-6F44-4C0E-9C2A-1B2C3D4E5F60"} {
		if err := st.Create(ctx, bad, record(now)); err == nil {
			t.Errorf("Create(%q) succeeded", bad)
		}
		if err := st.Rename(ctx, id, bad, record(now)); err == nil {
			t.Errorf("Rename to %q succeeded", bad)
		}
		if _, err := st.Visit(ctx, bad, 1, now, time.Hour); !errors.Is(err, sessions.ErrNotFound) {
			t.Errorf("Visit(%q) = %v, want ErrNotFound", bad, err)
		}
		if err := st.Update(ctx, bad, map[string]any{"k": "v"}, nil); !errors.Is(err, sessions.ErrNotFound) {
			t.Errorf("Update(%q) = %v, want ErrNotFound", bad, err)
		}
		if err := st.Delete(ctx, bad); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", bad, err)
		}
	}
	// The refused renames left the session where it was.
	if rec, err := st.Visit(ctx, id, 1, now, time.Hour); err != nil || rec.Views != 2 {
		t.Errorf("session after refused renames: %+v, %v", rec, err)
	}
}

// concurrentVisits: concurrent visits of one session each get their own
// view numbers, and none is lost.
func concurrentVisits(t *testing.T, st sessions.Store) {
	id, now := stored(t, st)
	const workers, each = 8, 5
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				rec, err := st.Visit(context.Background(), id, 2, now, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for v := rec.Views - 1; v <= rec.Views; v++ {
					if seen[v] {
						t.Errorf("view %d counted twice", v)
					}
					seen[v] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rec, err := st.Visit(context.Background(), id, 1, now, time.Hour)
	if want := int64(1 + 2*workers*each + 1); err != nil || rec.Views != want {
		t.Errorf("after %d concurrent visits: %d views, %v; want %d", workers*each, rec.Views, err, want)
	}
}

// concurrentUpdates: concurrent updates of different keys all survive.
func concurrentUpdates(t *testing.T, st sessions.Store) {
	id, now := stored(t, st)
	keys := []string{"a", "b", "c", "d", "e", "f"}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			if err := st.Update(context.Background(), id, map[string]any{k: k}, nil); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := st.Visit(context.Background(), id, 1, now, time.Hour); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rec, err := st.Visit(context.Background(), id, 1, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if rec.Values[k] != k {
			t.Errorf("value %q = %v after concurrent updates, want %q", k, rec.Values[k], k)
		}
	}
	if rec.Values["greeting"] != "Hallo Welt" || rec.Views != int64(2+len(keys)) {
		t.Errorf("record = %+v, want the greeting kept and %d views", rec, 2+len(keys))
	}
}

// cancelledContext: a call whose context has ended fails, and changes
// nothing.
func cancelledContext(t *testing.T, st sessions.Store) {
	id, now := stored(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Create(ctx, uuid.NewString(), record(now)); err == nil {
		t.Error("Create with a cancelled context succeeded")
	}
	if _, err := st.Visit(ctx, id, 1, now, time.Hour); err == nil {
		t.Error("Visit with a cancelled context succeeded")
	}
	if err := st.Update(ctx, id, map[string]any{"k": "v"}, nil); err == nil {
		t.Error("Update with a cancelled context succeeded")
	}
	rec, err := st.Visit(context.Background(), id, 1, now, time.Hour)
	if err != nil || rec.Views != 2 || rec.Values["k"] != nil {
		t.Errorf("after cancelled calls: %+v, %v; want 2 views and no k", rec, err)
	}
}

// nestedValues: maps and arrays, as Session.Set encodes structs, slices and
// maps, come back as they went in.
func nestedValues(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	id, now := stored(t, st)
	cart := map[string]any{
		"items": []any{map[string]any{"sku": "apple", "qty": int64(3)}, map[string]any{"sku": "pear", "qty": int64(1)}},
		"when":  now,
		"none":  nil,
		"tags":  map[string]any{},
		"list":  []any{},
	}
	if err := st.Update(ctx, id, map[string]any{"cart": cart}, nil); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Visit(ctx, id, 1, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Values["cart"], cart) {
		t.Errorf("cart = %#v\nwant %#v", rec.Values["cart"], cart)
	}
}

// attrs: SetAttrs changes the owner, expiry and own idle timeout, which
// later visits slide by; values and views stay.
func attrs(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	id, now := stored(t, st)
	a := sessions.Attrs{Owner: "ada", Idle: 30 * time.Second, Expires: now.Add(30 * time.Second), Deadline: now.Add(48 * time.Hour), BrowserSession: true}
	if err := st.SetAttrs(ctx, id, a); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Visit(ctx, id, 1, now.Add(time.Second), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Owner != "ada" || rec.Idle != 30*time.Second || !rec.BrowserSession || !rec.Deadline.Equal(a.Deadline) ||
		!rec.Expires.Equal(now.Add(31*time.Second)) || rec.Views != 2 || rec.Values["greeting"] == nil {
		t.Errorf("record = %+v, want owner ada, own idle 30s sliding the expiry, 2 views, values kept", rec)
	}
	if err := st.SetAttrs(ctx, id, sessions.Attrs{Expires: rec.Expires, Deadline: rec.Deadline}); err != nil {
		t.Fatal(err)
	}
	if rec, err = st.Visit(ctx, id, 1, now, time.Hour); err != nil || rec.Owner != "" || rec.Idle != 0 || rec.BrowserSession {
		t.Errorf("after clearing: %+v %v", rec, err)
	}
	if err := st.SetAttrs(ctx, uuid.NewString(), a); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("SetAttrs of a missing session: %v, want ErrNotFound", err)
	}
}

// owners: a store that is a sessions.OwnerIndex lists an owner's live
// sessions and deletes them, by handle or all.
func owners(t *testing.T, st sessions.Store) {
	idx, ok := st.(sessions.OwnerIndex)
	if !ok {
		t.Skip("not an OwnerIndex")
	}
	ctx := context.Background()
	owner := "user-" + uuid.NewString()
	var ids []string
	for range 3 {
		id, now := stored(t, st)
		if err := st.SetAttrs(ctx, id, sessions.Attrs{Owner: owner, Expires: now.Add(time.Hour), Deadline: now.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	stored(t, st) // someone else's
	now := now()
	list, err := idx.Owned(ctx, owner, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var handles []string
	for _, o := range list {
		handles = append(handles, o.Handle)
		if o.Values["greeting"] == nil || o.Created.IsZero() || o.LastSeen.After(now) || o.Expires.Before(now) {
			t.Errorf("owned session %+v lacks values or times", o)
		}
	}
	want := []string{sessions.Handle(ids[0]), sessions.Handle(ids[1]), sessions.Handle(ids[2])}
	slices.Sort(handles)
	slices.Sort(want)
	if !slices.Equal(handles, want) {
		t.Fatalf("owned handles = %v, want %v", handles, want)
	}
	if n, err := idx.DeleteOwned(ctx, owner, []string{sessions.Handle(ids[0])}); n != 1 || err != nil {
		t.Errorf("DeleteOwned of one = %d %v", n, err)
	}
	if _, err := st.Visit(ctx, ids[0], 1, now, time.Hour); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("deleted session visited: %v", err)
	}
	if n, err := idx.DeleteOwned(ctx, owner, nil); n != 2 || err != nil {
		t.Errorf("DeleteOwned of all = %d %v, want 2", n, err)
	}
	if list, err := idx.Owned(ctx, owner, now, time.Hour); len(list) != 0 || err != nil {
		t.Errorf("after deleting all: %v %v", list, err)
	}
}
