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
		{"VisitCountsOnly", visitCountsOnly},
		{"CreateExisting", createExisting},
		{"VisitMissing", visitMissing},
		{"ValuesRoundTrip", valuesRoundTrip},
		{"ApplyIsFieldLevel", applyIsFieldLevel},
		{"ApplyIfVersion", applyIfVersion},
		{"ApplyAdd", applyAdd},
		{"RenameAndDelete", renameAndDelete},
		{"DeleteExpired", deleteExpired},
		{"MalformedIDs", malformedIDs},
		{"ConcurrentVisits", concurrentVisits},
		{"ConcurrentUpdates", concurrentUpdates},
		{"CancelledContext", cancelledContext},
		{"NestedValues", nestedValues},
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

func visitCountsOnly(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	id, now := stored(t, st)
	rec, err := st.Visit(ctx, id, 3)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Views != 4 {
		t.Errorf("views = %d, want 4", rec.Views)
	}
	// A visit changes nothing but the count: the Manager slides the expiry.
	want := record(now)
	if !rec.Expires.Equal(want.Expires) || !rec.Created.Equal(now) || !rec.Deadline.Equal(want.Deadline) {
		t.Errorf("created, expires, deadline = %v, %v, %v; want %v, %v, %v", rec.Created, rec.Expires, rec.Deadline, now, want.Expires, want.Deadline)
	}
	if g, _ := rec.Values["greeting"].(string); g != "Hallo Welt" {
		t.Errorf("greeting = %q", g)
	}
	if rec.Version == "" {
		t.Error("a visit's record names no version")
	}
	next, err := st.Visit(ctx, id, 1)
	if err != nil || next.Version == rec.Version {
		t.Errorf("the next visit's version %q (%v), want another than %q", next.Version, err, rec.Version)
	}
	// The record handed out is the caller's: changing it changes nothing
	// stored.
	rec.Values["greeting"] = "changed"
	if rec, err = st.Get(ctx, id); err != nil || rec.Values["greeting"] != "Hallo Welt" || rec.Views != 5 {
		t.Errorf("after changing a returned record: %+v, %v; want the greeting unchanged, 5 views", rec, err)
	}
}

func createExisting(t *testing.T, st sessions.Store) {
	id, now := stored(t, st)
	if err := st.Create(context.Background(), id, record(now)); !errors.Is(err, sessions.ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
}

func visitMissing(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	now := now()
	if _, err := st.Visit(ctx, uuid.NewString(), 1); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	if _, err := st.Get(ctx, uuid.NewString()); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("Get of an unknown id: %v, want ErrNotFound", err)
	}
	// An ended session is counted as it is stored, and visiting it does
	// not bring it back: its expiry stays.
	ended := sessions.Record{Views: 5, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Second), Deadline: now.Add(time.Hour)}
	id := uuid.NewString()
	if err := st.Create(ctx, id, ended); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rec, err := st.Visit(ctx, id, 1)
		if err != nil || !rec.Expires.Equal(ended.Expires) {
			t.Errorf("ended session: %+v, %v; want its expiry %v as stored", rec, err, ended.Expires)
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
	if err := update(st, ctx, id, want, nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.Visit(ctx, id, 1)
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

func applyIsFieldLevel(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	id, now := stored(t, st)
	if err := update(st, ctx, id, map[string]any{"a": "1"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := update(st, ctx, id, map[string]any{"b": "2"}, []string{"greeting"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Visit(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Visit(ctx, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Values["a"] != "1" || rec.Values["b"] != "2" || rec.Values["greeting"] != nil || rec.Views != 3 {
		t.Errorf("record = %+v, want a=1 b=2, no greeting, 3 views", rec)
	}
	if err := update(st, ctx, uuid.NewString(), map[string]any{"a": "1"}, nil); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("update of a missing session: %v, want ErrNotFound", err)
	}
	// Attributes are field-level too: the owner and the lifetime change
	// apart, and neither touches the other, the values or the views.
	deadline := now.Add(48 * time.Hour)
	if _, err := st.Apply(ctx, id, sessions.Change{Owner: ptr("ada")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, id, sessions.Change{SetLifetime: true, Idle: 30 * time.Second, Deadline: deadline, BrowserSession: true, Expires: now.Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	rec, err = st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Owner != "ada" || rec.Idle != 30*time.Second || !rec.BrowserSession || !rec.Deadline.Equal(deadline) ||
		!rec.Expires.Equal(now.Add(30*time.Second)) || rec.Views != 3 || rec.Values["a"] != "1" {
		t.Errorf("record = %+v, want owner ada, own idle 30s, the new deadline and expiry, 3 views, values kept", rec)
	}
	// An expiry alone moves the expiry alone.
	if _, err := st.Apply(ctx, id, sessions.Change{Expires: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, id, sessions.Change{Owner: ptr("")}); err != nil {
		t.Fatal(err)
	}
	rec, err = st.Get(ctx, id)
	if err != nil || rec.Owner != "" || rec.Idle != 30*time.Second || !rec.Expires.Equal(now.Add(time.Minute)) {
		t.Errorf("after the owner cleared and the expiry moved: %+v %v", rec, err)
	}
	if _, err := st.Apply(ctx, uuid.NewString(), sessions.Change{Owner: ptr("x")}); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("Apply to a missing session: %v, want ErrNotFound", err)
	}
}

// applyIfVersion: a conditional change applies only to the version it
// names; any change of the session, a view included, makes a new version.
func applyIfVersion(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	id, _ := stored(t, st)
	rec, err := st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Apply(ctx, id, sessions.Change{IfVersion: rec.Version, Set: map[string]any{"k": "1"}})
	if err != nil {
		t.Fatalf("change at the current version: %v", err)
	}
	if res.Version == "" || res.Version == rec.Version {
		t.Errorf("version after a conditional change = %q, want a new one", res.Version)
	}
	if _, err := st.Apply(ctx, id, sessions.Change{IfVersion: rec.Version, Set: map[string]any{"k": "2"}}); !errors.Is(err, sessions.ErrConflict) {
		t.Errorf("change at a past version: %v, want ErrConflict", err)
	}
	if _, err := st.Visit(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Apply(ctx, id, sessions.Change{IfVersion: res.Version, Delete: []string{"k"}}); !errors.Is(err, sessions.ErrConflict) {
		t.Errorf("change at the version before a view: %v, want ErrConflict", err)
	}
	if rec, err = st.Get(ctx, id); err != nil || rec.Values["k"] != "1" {
		t.Errorf("after refused changes: %v %v, want k=1", rec.Values, err)
	}
}

// applyAdd: increments are atomic and report their sums.
func applyAdd(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	id, _ := stored(t, st)
	const workers, each = 6, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	sums := map[int64]bool{}
	for range workers {
		wg.Go(func() {
			for range each {
				res, err := st.Apply(ctx, id, sessions.Change{Add: map[string]int64{"n": 2}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if sums[res.Sums["n"]] {
					t.Errorf("sum %d reported twice", res.Sums["n"])
				}
				sums[res.Sums["n"]] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rec, err := st.Get(ctx, id)
	if err != nil || rec.Values["n"] != int64(2*workers*each) {
		t.Errorf("after %d concurrent adds of 2: %v %v, want %d", workers*each, rec.Values["n"], err, 2*workers*each)
	}
	if rec.Values["greeting"] != "Hallo Welt" {
		t.Errorf("values after adds = %v, want the greeting kept", rec.Values)
	}
}

func renameAndDelete(t *testing.T, st sessions.Store) {
	ctx := context.Background()
	oldID, _ := stored(t, st)
	rec, err := st.Get(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Visit(ctx, oldID, 1); err != nil {
		t.Fatal(err)
	}
	// A rename of a version that is past moves nothing.
	if err := st.Rename(ctx, oldID, uuid.NewString(), rec); !errors.Is(err, sessions.ErrConflict) {
		t.Errorf("rename of a past version: %v, want ErrConflict", err)
	}
	if rec, err = st.Get(ctx, oldID); err != nil {
		t.Fatal(err)
	}
	newID := uuid.NewString()
	rec.Values["moved"] = true
	if err := st.Rename(ctx, oldID, newID, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Visit(ctx, oldID, 1); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("old id after rename: %v, want ErrNotFound", err)
	}
	got, err := st.Visit(ctx, newID, 1)
	if err != nil || got.Views != 3 || got.Values["greeting"] != "Hallo Welt" || got.Values["moved"] != true {
		t.Errorf("new id after rename: %+v, %v", got, err)
	}
	// A session destroyed meanwhile is not brought back by a rename.
	if err := st.Rename(ctx, oldID, uuid.NewString(), rec); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("rename of a missing session: %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, newID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Visit(ctx, newID, 1); !errors.Is(err, sessions.ErrNotFound) {
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
		if _, err := st.Visit(ctx, id, 1); err != nil {
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
		if _, err := st.Visit(ctx, bad, 1); !errors.Is(err, sessions.ErrNotFound) {
			t.Errorf("Visit(%q) = %v, want ErrNotFound", bad, err)
		}
		if err := update(st, ctx, bad, map[string]any{"k": "v"}, nil); !errors.Is(err, sessions.ErrNotFound) {
			t.Errorf("Update(%q) = %v, want ErrNotFound", bad, err)
		}
		if err := st.Delete(ctx, bad); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", bad, err)
		}
	}
	// The refused renames left the session where it was.
	if rec, err := st.Visit(ctx, id, 1); err != nil || rec.Views != 2 {
		t.Errorf("session after refused renames: %+v, %v", rec, err)
	}
}

// concurrentVisits: concurrent visits of one session each get their own
// view numbers, and none is lost.
func concurrentVisits(t *testing.T, st sessions.Store) {
	id, _ := stored(t, st)
	const workers, each = 8, 5
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				rec, err := st.Visit(context.Background(), id, 2)
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
	rec, err := st.Visit(context.Background(), id, 1)
	if want := int64(1 + 2*workers*each + 1); err != nil || rec.Views != want {
		t.Errorf("after %d concurrent visits: %d views, %v; want %d", workers*each, rec.Views, err, want)
	}
}

// concurrentUpdates: concurrent updates of different keys all survive.
func concurrentUpdates(t *testing.T, st sessions.Store) {
	id, _ := stored(t, st)
	keys := []string{"a", "b", "c", "d", "e", "f"}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			if err := update(st, context.Background(), id, map[string]any{k: k}, nil); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := st.Visit(context.Background(), id, 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rec, err := st.Visit(context.Background(), id, 1)
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
	if _, err := st.Visit(ctx, id, 1); err == nil {
		t.Error("Visit with a cancelled context succeeded")
	}
	if err := update(st, ctx, id, map[string]any{"k": "v"}, nil); err == nil {
		t.Error("Update with a cancelled context succeeded")
	}
	rec, err := st.Visit(context.Background(), id, 1)
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
	if err := update(st, ctx, id, map[string]any{"cart": cart}, nil); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Visit(ctx, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Values["cart"], cart) {
		t.Errorf("cart = %#v\nwant %#v", rec.Values["cart"], cart)
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
		id, _ := stored(t, st)
		if _, err := st.Apply(ctx, id, sessions.Change{Owner: &owner}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	stored(t, st) // someone else's
	list, err := idx.Owned(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	var handles []string
	for handle, rec := range list {
		handles = append(handles, handle)
		if rec.Values["greeting"] == nil || rec.Created.IsZero() || rec.Owner != owner {
			t.Errorf("owned session %+v lacks values, times or its owner", rec)
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
	if _, err := st.Visit(ctx, ids[0], 1); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("deleted session visited: %v", err)
	}
	if n, err := idx.DeleteOwned(ctx, owner, nil); n != 2 || err != nil {
		t.Errorf("DeleteOwned of all = %d %v, want 2", n, err)
	}
	if list, err := idx.Owned(ctx, owner); len(list) != 0 || err != nil {
		t.Errorf("after deleting all: %v %v", list, err)
	}
}

// update saves set and del to the session id in st, as a request's save
// does.
func update(st sessions.Store, ctx context.Context, id string, set map[string]any, del []string) error {
	_, err := st.Apply(ctx, id, sessions.Change{Set: set, Delete: del})
	return err
}

func ptr[T any](v T) *T { return &v }
