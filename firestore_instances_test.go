package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two instances of an app, each with its own store and record cache, on one
// database: what one writes, the other must see, and neither may lose or
// repeat a view of the other's.

// colorPage shows the view count and the value "color"; /set?color=C sets
// it and /destroy ends the session.
var colorPage = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	s, _ := FromContext(r.Context())
	switch r.URL.Path {
	case "/set":
		if err := s.Set("color", r.FormValue("color")); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	case "/destroy":
		if err := s.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	c, _ := s.GetString("color")
	fmt.Fprintf(w, "%d views for %q", s.Views(), c)
})

// twoInstances returns the middleware of two Managers, each with a
// Firestore store of its own, on one emulator project.
func twoInstances(t *testing.T, h http.Handler) (a, b http.Handler) {
	t.Helper()
	stA, project := firestoreStore(t, FirestoreConfig{})
	stB := openStore(t, project, FirestoreConfig{})
	return newManager(t, stA, Config{}).Middleware(h), newManager(t, stB, Config{}).Middleware(h)
}

func TestInstancesSeeEachOthersValues(t *testing.T) {
	a, b := twoInstances(t, colorPage)
	v := &visitor{t: t, h: a}
	v.get("/") // created and cached by a
	v.h = b    // b reads it and caches it
	v.get("/") // 2
	v.h = a    // a's version is stale now
	v.get("/") // 3
	v.h = b    // and b's
	for i, step := range []struct {
		h    http.Handler
		path string
		want string
	}{
		{a, "/set?color=red", `4 views for "red"`},
		{b, "/", `5 views for "red"`}, // b's cached record predates red
		{b, "/set?color=blue", `6 views for "blue"`},
		{a, "/", `7 views for "blue"`},
		{a, "/", `8 views for "blue"`},
		{b, "/", `9 views for "blue"`},
	} {
		v.h = step.h
		if res := v.get(step.path); res.code != http.StatusOK || res.body != step.want {
			t.Errorf("step %d, %s: %d %q, want %q", i, step.path, res.code, res.body, step.want)
		}
	}
}

func TestInstancesCountEveryViewOnce(t *testing.T) {
	a, b := twoInstances(t, greet)
	first := do(t, a, http.MethodGet, "/", "")
	if first.cookie == nil {
		t.Fatalf("no session cookie: %d %q", first.code, first.body)
	}
	cookie := DefaultCookieName + "=" + first.cookie.Value
	const clients, each = 16, 10
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	for c := range clients {
		h := a
		if c%2 == 1 {
			h = b
		}
		wg.Go(func() {
			for range each {
				res := do(t, h, http.MethodGet, "/", cookie)
				if res.code != http.StatusOK {
					t.Errorf("%d %q", res.code, res.body)
					continue
				}
				mu.Lock()
				seen = append(seen, views(t, res.body))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	want := make([]int, 0, clients*each)
	for n := 2; n <= clients*each+1; n++ {
		want = append(want, n)
	}
	if got := sortedCopy(seen); !slices.Equal(got, want) {
		t.Errorf("view numbers %v\nwant each of 2…%d once", got, clients*each+1)
	}
	if got := views(t, do(t, b, http.MethodGet, "/", cookie).body); got != clients*each+2 {
		t.Errorf("next view = %d, want %d", got, clients*each+2)
	}
}

func TestSessionDestroyedByOneInstanceIsGoneForTheOther(t *testing.T) {
	a, b := twoInstances(t, colorPage)
	v := &visitor{t: t, h: a}
	v.get("/set?color=red")
	old := v.id
	v.h = b
	v.get("/") // b caches it
	v.h = a
	if res := v.get("/destroy"); res.cookie == nil || res.cookie.MaxAge >= 0 {
		t.Fatalf("destroy: %d %q, cookie %v; want the cookie expired", res.code, res.body, res.cookie)
	}
	res := do(t, b, http.MethodGet, "/", DefaultCookieName+"="+old)
	if res.body != `1 views for ""` || res.cookie == nil || res.cookie.Value == old {
		t.Errorf("old id at the other instance: %q, cookie %v; want a new session", res.body, res.cookie)
	}
}

// A view's Commit cannot conflict and changes nothing but the count: it
// refuses a session deleted since, and a view of a session whose expiry
// has passed does not move the expiry (the Manager refuses it).
func TestVisitCountsWithoutReviving(t *testing.T) {
	st, _ := firestoreStore(t, FirestoreConfig{})
	ctx := context.Background()
	now := storeTime(time.Now())
	id := newID()
	ended := testRecord(now.Add(-2 * time.Hour))
	ended.Expires = now.Add(-time.Hour)
	if _, err := st.Commit(ctx, createMutation(Handle(id), ended)); err != nil {
		t.Fatal(err)
	}
	rec, err := viewOf(ctx, st, id, 3)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Views != 4 || !rec.Expires.Equal(ended.Expires) || rec.live(now) {
		t.Errorf("views, expires = %d, %v; want 4 and the expiry as it was, %v", rec.Views, rec.Expires, ended.Expires)
	}
	if err := deleteID(ctx, st, id); err != nil {
		t.Fatal(err)
	}
	if _, err := viewOf(ctx, st, id, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func TestRecordCacheBounds(t *testing.T) {
	rec := func(value string) Record {
		return Record{Views: 1, Values: map[string]any{"v": value}}
	}
	t.Run("entries", func(t *testing.T) {
		c := newRecordCache(FirestoreConfig{CacheSize: 3})
		for i := range 10 {
			c.put(fmt.Sprint(i), rec("x"), 1, false)
			if i == 7 {
				c.get("5") // used: 6 and 7 go first
			}
		}
		if n, _ := c.usage(); n != 3 {
			t.Errorf("%d entries, want 3", n)
		}
		for name, want := range map[string]bool{"5": true, "6": false, "7": false, "8": true, "9": true} {
			if _, ok := c.get(name); ok != want {
				t.Errorf("entry %s cached: %v, want %v", name, ok, want)
			}
		}
	})
	t.Run("bytes", func(t *testing.T) {
		const limit = 4096
		c := newRecordCache(FirestoreConfig{CacheBytes: limit})
		for i := range 100 {
			c.put(fmt.Sprint(i), rec(strings.Repeat("x", 500)), 1, false)
			if _, b := c.usage(); b > limit {
				t.Fatalf("after %d puts: %d bytes, bound %d", i+1, b, limit)
			}
		}
		if n, _ := c.usage(); n == 0 || n > limit/500 {
			t.Errorf("%d entries of over 500 bytes within %d bytes", n, limit)
		}
		c.put("big", rec(strings.Repeat("x", limit)), 1, false)
		if _, ok := c.get("big"); ok {
			t.Error("a record larger than the bound was cached")
		}
	})
	t.Run("replace", func(t *testing.T) {
		c := newRecordCache(FirestoreConfig{})
		c.put("s", rec("one"), 2, false)
		c.put("s", rec("two"), 7, false) // a record created again starts anywhere
		if e, _ := c.get("s"); e.rec.Values["v"] != "two" || e.rev != 7 {
			t.Errorf("cached %v at %d, want the last put", e.rec.Values, e.rev)
		}
		c.drop("s")
		if _, ok := c.get("s"); ok {
			t.Error("dropped entry still cached")
		}
	})
	t.Run("disabled", func(t *testing.T) {
		c := newRecordCache(FirestoreConfig{CacheSize: -1})
		c.put("s", rec("x"), 1, false)
		if _, ok := c.get("s"); ok {
			t.Error("a disabled cache cached")
		}
	})
	t.Run("store", func(t *testing.T) {
		st, _ := firestoreStore(t, FirestoreConfig{CacheSize: 3})
		for range 10 {
			stored(t, st)
		}
		if n, _ := st.cache.usage(); n != 3 {
			t.Errorf("store caches %d records, want its bound 3", n)
		}
	})
}

// A session whose values another instance keeps changing costs one round
// trip a view: the first view after a change it did not know of reads the
// session after its Commit, and from then on its views read side by side
// with the Commit; what the other instance set is seen at once.
func TestChangedElsewhereOneRoundTrip(t *testing.T) {
	counted, rpcs := countedConn(t)
	stA, project := firestoreStore(t, FirestoreConfig{})
	stB := openStore(t, project, FirestoreConfig{}, counted) // b's RPCs are counted
	a := newManager(t, stA, Config{}).Middleware(colorPage)
	b := newManager(t, stB, Config{}).Middleware(colorPage)
	v := &visitor{t: t, h: a}
	v.get("/")
	want := 1
	for i := range 6 {
		color := fmt.Sprint("c", i)
		v.h = a
		v.get("/set?color=" + color)
		v.h = b
		rpcs.take()
		res := v.get("/")
		want += 2
		if res.body != fmt.Sprintf("%d views for %q", want, color) {
			t.Errorf("round %d at b: %q, want %d views for %q", i, res.body, want, color)
		}
		calls, total := rpcs.take()
		if total != 2 || calls["Commit"] != 1 || calls["BatchGetDocuments"] != 1 {
			t.Errorf("round %d at b: %d RPCs %v, want one Commit and one read", i, total, calls)
		}
	}
}
