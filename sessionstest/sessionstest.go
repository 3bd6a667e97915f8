// Package sessionstest checks that a [sessions.Store] keeps the contract
// the Manager relies on, in the manner of testing/fstest: the package's
// own stores pass it, and a store of yours should too. A store keeps
// records and applies mutations atomically; it decides nothing about
// sessions, so these tests are about mechanism only.
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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
)

// TestStore runs the contract's tests, each as a subtest of t on a store
// that newStore returns (a new one each time, or one that other tests
// share: every test uses keys of its own). newStore may call t.Skip or
// t.Fatal, and register its clean-up with t.Cleanup.
func TestStore(t *testing.T, newStore func(t *testing.T) sessions.Store) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, st sessions.Store)
	}{
		{"CreateAndGet", createAndGet},
		{"Preconditions", preconditions},
		{"FieldLevel", fieldLevel},
		{"Versions", versions},
		{"Atomic", atomic},
		{"SameKeyTwice", sameKeyTwice},
		{"ValuesRoundTrip", valuesRoundTrip},
		{"NestedValues", nestedValues},
		{"ConcurrentViews", concurrentViews},
		{"ConcurrentConditional", concurrentConditional},
		{"ConcurrentFields", concurrentFields},
		{"CancelledContext", cancelledContext},
		{"Copies", copies},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, newStore(t)) })
	}
}

// newKey returns a key of the form the Manager makes: 64 hex digits.
func newKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// now returns the time as stores give it back: UTC, microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func attrs(now time.Time) *sessions.Attrs {
	return &sessions.Attrs{Created: now, Renewed: now, Expires: now.Add(time.Hour), Deadline: now.Add(24 * time.Hour)}
}

// create stores a record under a new key, as a new session is, and
// returns the key and the record as stored.
func create(t *testing.T, st sessions.Store) (string, sessions.Record) {
	t.Helper()
	key := newKey()
	res, err := st.Commit(context.Background(), sessions.Mutation{Key: key, Create: true, AddViews: 1, Set: map[string]any{"greeting": "Hallo Welt"}, Attrs: attrs(now())})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("Commit of one mutation returned %d records", len(res))
	}
	return key, res[0]
}

// commit1 applies m alone and returns the record after it.
func commit1(st sessions.Store, m sessions.Mutation) (sessions.Record, error) {
	res, err := st.Commit(context.Background(), m)
	if err != nil {
		return sessions.Record{}, err
	}
	return res[0], nil
}

// get reads the record under key.
func get(t *testing.T, st sessions.Store, key string) sessions.Record {
	t.Helper()
	rec, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func createAndGet(t *testing.T, st sessions.Store) {
	key, made := create(t, st)
	rec := get(t, st, key)
	a := attrs(made.Created)
	if rec.Views != 1 || rec.Values["greeting"] != "Hallo Welt" || rec.Attrs != *a || rec.Version == "" {
		t.Errorf("record = %+v, want the created one with a version", rec)
	}
	if made.Version != rec.Version || made.Views != 1 || made.Attrs != *a {
		t.Errorf("Commit returned %+v, Get %+v: want the same record", made, rec)
	}
	if _, err := st.Get(context.Background(), newKey()); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("Get of a missing key: %v, want ErrNotFound", err)
	}
	// Every attribute is kept.
	full := sessions.Attrs{Created: made.Created, Renewed: made.Created.Add(time.Second), Expires: made.Created.Add(time.Minute), Deadline: made.Created.Add(time.Hour),
		Idle: 90 * time.Second, BrowserSession: true, Owner: "ada", MovedTo: newKey(), Ended: sessions.EndedByLimit}
	if _, err := commit1(st, sessions.Mutation{Key: key, Attrs: &full}); err != nil {
		t.Fatal(err)
	}
	if rec := get(t, st, key); rec.Attrs != full {
		t.Errorf("attributes = %+v, want %+v", rec.Attrs, full)
	}
}

func preconditions(t *testing.T, st sessions.Store) {
	key, rec := create(t, st)
	missing := newKey()
	for _, c := range []struct {
		name string
		m    sessions.Mutation
		want error
	}{
		{"create where one is", sessions.Mutation{Key: key, Create: true, Attrs: attrs(now())}, sessions.ErrExists},
		{"update where none is", sessions.Mutation{Key: missing, Set: map[string]any{"k": "v"}}, sessions.ErrNotFound},
		{"delete where none is", sessions.Mutation{Key: missing, Delete: true}, sessions.ErrNotFound},
		{"version where none is", sessions.Mutation{Key: missing, IfVersion: rec.Version, AddViews: 1}, sessions.ErrConflict},
		{"another version", sessions.Mutation{Key: key, IfVersion: rec.Version + "0", Set: map[string]any{"k": "v"}}, sessions.ErrConflict},
	} {
		if _, err := st.Commit(context.Background(), c.m); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if got := get(t, st, key); got.Version != rec.Version || got.Values["k"] != nil {
		t.Errorf("after refused mutations: %+v, want it unchanged", got)
	}
	if _, err := st.Get(context.Background(), missing); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("a refused mutation made a record: %v", err)
	}
	// At its version, a mutation applies; a delete too.
	if _, err := commit1(st, sessions.Mutation{Key: key, IfVersion: rec.Version, Delete: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(context.Background(), key); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

// fieldLevel: a mutation changes only what it names.
func fieldLevel(t *testing.T, st sessions.Store) {
	key, rec := create(t, st)
	if _, err := commit1(st, sessions.Mutation{Key: key, Set: map[string]any{"a": "1", "b": "1"}}); err != nil {
		t.Fatal(err)
	}
	after, err := commit1(st, sessions.Mutation{Key: key, Set: map[string]any{"b": "2"}, Unset: []string{"greeting", "nothing"}, AddViews: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "1", "b": "2"}
	if !reflect.DeepEqual(after.Values, want) || after.Views != 3 || after.Attrs != rec.Attrs {
		t.Errorf("after = %+v, want values %v, 3 views, the attributes as they were", after, want)
	}
	moved := rec.Attrs
	moved.Expires = moved.Expires.Add(time.Hour)
	after, err = commit1(st, sessions.Mutation{Key: key, Attrs: &moved})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after.Values, want) || after.Views != 3 || after.Attrs != moved {
		t.Errorf("after an attribute change = %+v, want the values and views kept", after)
	}
	if got := get(t, st, key); got.Version != after.Version || !reflect.DeepEqual(got.Values, want) || got.Attrs != moved {
		t.Errorf("Get = %+v, want %+v", got, after)
	}
}

// versions: every mutation gives the record a new version, which Get and
// Commit name alike, and a version once past never applies again.
func versions(t *testing.T, st sessions.Store) {
	key, rec := create(t, st)
	seen := map[string]bool{rec.Version: true}
	for _, m := range []sessions.Mutation{
		{Key: key, AddViews: 1},
		{Key: key, Set: map[string]any{"k": "v"}},
		{Key: key, Attrs: attrs(now())},
		{Key: key, IfVersion: "", Unset: []string{"k"}},
	} {
		after, err := commit1(st, m)
		if err != nil {
			t.Fatal(err)
		}
		if after.Version == "" || seen[after.Version] {
			t.Errorf("%+v gave version %q, want a new one", m, after.Version)
		}
		seen[after.Version] = true
		if got := get(t, st, key); got.Version != after.Version {
			t.Errorf("Get names version %q, Commit %q", got.Version, after.Version)
		}
		if _, err := commit1(st, sessions.Mutation{Key: key, IfVersion: rec.Version, AddViews: 1}); !errors.Is(err, sessions.ErrConflict) {
			t.Errorf("a mutation at the first version after %+v: %v, want ErrConflict", m, err)
		}
	}
}

// atomic: the mutations of one Commit apply all, or none.
func atomic(t *testing.T, st sessions.Store) {
	a, _ := create(t, st)
	b, recB := create(t, st)
	fresh := newKey()
	_, err := st.Commit(context.Background(),
		sessions.Mutation{Key: a, Set: map[string]any{"k": "a"}},
		sessions.Mutation{Key: fresh, Create: true, Attrs: attrs(now())},
		sessions.Mutation{Key: b, IfVersion: recB.Version + "0", Delete: true})
	if !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("a Commit whose last mutation fails: %v, want ErrConflict", err)
	}
	if got := get(t, st, a); got.Values["k"] != nil {
		t.Error("the first mutation of a failed Commit applied")
	}
	if _, err := st.Get(context.Background(), fresh); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("the record a failed Commit created: %v", err)
	}
	res, err := st.Commit(context.Background(),
		sessions.Mutation{Key: a, Set: map[string]any{"k": "a"}},
		sessions.Mutation{Key: fresh, Create: true, AddViews: 4, Attrs: attrs(now())},
		sessions.Mutation{Key: b, IfVersion: recB.Version, Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Values["k"] != "a" || res[1].Views != 4 || res[2].Version != "" {
		t.Errorf("records after = %+v, want one a mutation, the deleted one zero", res)
	}
	if _, err := st.Get(context.Background(), b); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("deleted record: %v", err)
	}
}

// sameKeyTwice: a Commit may delete a record and create another under the
// same key, each precondition checked against what the mutations before it
// left.
func sameKeyTwice(t *testing.T, st sessions.Store) {
	key, rec := create(t, st)
	ended := sessions.Attrs{Created: rec.Created, Expires: rec.Expires, Deadline: rec.Deadline, Ended: sessions.EndedByLogout}
	res, err := st.Commit(context.Background(),
		sessions.Mutation{Key: key, IfVersion: rec.Version, Delete: true},
		sessions.Mutation{Key: key, Create: true, Attrs: &ended})
	if err != nil {
		t.Fatal(err)
	}
	got := get(t, st, key)
	if got.Attrs != ended || len(got.Values) != 0 || got.Views != 0 || got.Version != res[1].Version {
		t.Errorf("record = %+v, want the one created in place of the deleted one", got)
	}
	if _, err := st.Commit(context.Background(), sessions.Mutation{Key: key, Create: true, Attrs: &ended}, sessions.Mutation{Key: key, Delete: true}); !errors.Is(err, sessions.ErrExists) {
		t.Errorf("create before delete: %v, want ErrExists", err)
	}
}

// valuesRoundTrip: every type of an encoded value comes back as it went.
func valuesRoundTrip(t *testing.T, st sessions.Store) {
	key, _ := create(t, st)
	when := time.Date(2026, 11, 22, 10, 30, 0, 123456000, time.UTC)
	want := map[string]any{
		"s": "päge", "i": int64(-7), "f": 2.5, "b": true, "t": when, "raw": []byte{0, 1, 255}, "nil": nil,
		"a.b": "dotted", "`q`": "quoted", "space key": "x",
	}
	if _, err := commit1(st, sessions.Mutation{Key: key, Set: want, Unset: []string{"greeting"}}); err != nil {
		t.Fatal(err)
	}
	got := get(t, st, key).Values
	if len(got) != len(want) {
		t.Errorf("values = %v, want %v", got, want)
	}
	for k, w := range want {
		g, ok := got[k]
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
			if !ok || g != w {
				t.Errorf("%q = %#v (%T), want %#v (%T)", k, g, g, w, w)
			}
		}
	}
}

// nestedValues: maps and arrays, as Session.Set encodes structs, slices and
// maps, come back as they went in.
func nestedValues(t *testing.T, st sessions.Store) {
	key, _ := create(t, st)
	cart := map[string]any{
		"items": []any{map[string]any{"sku": "apple", "qty": int64(3)}, map[string]any{"sku": "pear", "qty": int64(1)}},
		"when":  now(),
		"none":  nil,
		"tags":  map[string]any{},
		"list":  []any{},
	}
	if _, err := commit1(st, sessions.Mutation{Key: key, Set: map[string]any{"cart": cart}}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, st, key).Values["cart"]; !reflect.DeepEqual(got, cart) {
		t.Errorf("cart = %#v\nwant %#v", got, cart)
	}
}

// concurrentViews: concurrent mutations that add views each see a count
// of their own, and none is lost.
func concurrentViews(t *testing.T, st sessions.Store) {
	key, _ := create(t, st)
	const workers, each = 8, 5
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				rec, err := commit1(st, sessions.Mutation{Key: key, AddViews: 2})
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
	if rec := get(t, st, key); rec.Views != 1+2*workers*each {
		t.Errorf("after %d concurrent views: %d, want %d", workers*each, rec.Views, 1+2*workers*each)
	}
}

// concurrentConditional: of concurrent mutations at one version, exactly
// one applies.
func concurrentConditional(t *testing.T, st sessions.Store) {
	key, rec := create(t, st)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for i := range n {
		wg.Go(func() {
			_, err := commit1(st, sessions.Mutation{Key: key, IfVersion: rec.Version, Set: map[string]any{"winner": int64(i)}})
			switch {
			case err == nil:
				mu.Lock()
				applied++
				mu.Unlock()
			case !errors.Is(err, sessions.ErrConflict):
				t.Errorf("a mutation at a past version: %v, want ErrConflict", err)
			}
		})
	}
	wg.Wait()
	if applied != 1 {
		t.Errorf("%d of %d mutations at one version applied, want 1", applied, n)
	}
}

// concurrentFields: concurrent mutations of different values all survive.
func concurrentFields(t *testing.T, st sessions.Store) {
	key, _ := create(t, st)
	keys := []string{"a", "b", "c", "d", "e", "f"}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Go(func() {
			if _, err := commit1(st, sessions.Mutation{Key: key, Set: map[string]any{k: k}}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := commit1(st, sessions.Mutation{Key: key, AddViews: 1}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rec := get(t, st, key)
	for _, k := range keys {
		if rec.Values[k] != k {
			t.Errorf("value %q = %v after concurrent mutations, want %q", k, rec.Values[k], k)
		}
	}
	if rec.Values["greeting"] != "Hallo Welt" || rec.Views != int64(1+len(keys)) {
		t.Errorf("record = %+v, want the greeting kept and %d views", rec, 1+len(keys))
	}
}

// cancelledContext: a call whose context has ended fails, and changes
// nothing.
func cancelledContext(t *testing.T, st sessions.Store) {
	key, rec := create(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Commit(ctx, sessions.Mutation{Key: newKey(), Create: true, Attrs: attrs(now())}); err == nil {
		t.Error("Create with a cancelled context succeeded")
	}
	if _, err := st.Commit(ctx, sessions.Mutation{Key: key, AddViews: 1, Set: map[string]any{"k": "v"}}); err == nil {
		t.Error("Commit with a cancelled context succeeded")
	}
	if got := get(t, st, key); got.Version != rec.Version || got.Views != 1 || got.Values["k"] != nil {
		t.Errorf("after cancelled calls: %+v, want it unchanged", got)
	}
}

// copies: the records handed out are the caller's, and so are the values
// handed in: changing them changes nothing stored.
func copies(t *testing.T, st sessions.Store) {
	key, _ := create(t, st)
	list := []any{"a"}
	rec, err := commit1(st, sessions.Mutation{Key: key, Set: map[string]any{"list": list}})
	if err != nil {
		t.Fatal(err)
	}
	list[0] = "changed by the caller"
	rec.Values["greeting"] = "changed"
	rec.Values["list"].([]any)[0] = "changed"
	got := get(t, st, key)
	if got.Values["greeting"] != "Hallo Welt" || !reflect.DeepEqual(got.Values["list"], []any{"a"}) {
		t.Errorf("after changing what went in and came out: %v", got.Values)
	}
	got.Values["greeting"] = "changed"
	if again := get(t, st, key); again.Values["greeting"] != "Hallo Welt" {
		t.Error("changing a record Get returned changed the store")
	}
}
