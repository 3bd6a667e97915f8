package sessions

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMemoryStoreBounds(t *testing.T) {
	ctx := context.Background()
	now := storeNow()
	visit := func(st *MemoryStore, id string) error {
		_, err := viewOf(ctx, st, id, 1)
		return err
	}
	// slide moves the expiry of session id an hour on, as a view does.
	slide := func(st *MemoryStore, id string) error {
		rec, err := st.Get(ctx, Handle(id))
		if err != nil {
			return err
		}
		rec.Expires = rec.Expires.Add(time.Hour)
		_, err = st.Commit(ctx, Mutation{Key: Handle(id), Attrs: &rec.Attrs})
		return err
	}
	t.Run("sessions", func(t *testing.T) {
		st := &MemoryStore{MaxSessions: 3}
		ids := make([]string, 5)
		for i := range ids {
			ids[i], _ = stored(t, st)
			if i == 2 {
				if err := slide(st, ids[0]); err != nil { // used: ids[1] expires first
					t.Fatal(err)
				}
			}
		}
		if st.Len() != 3 {
			t.Errorf("%d sessions, want the bound 3", st.Len())
		}
		for i, want := range []error{nil, ErrNotFound, ErrNotFound, nil, nil} {
			if err := visit(st, ids[i]); !errors.Is(err, want) {
				t.Errorf("session %d: %v, want %v", i, err, want)
			}
		}
	})
	t.Run("bytes", func(t *testing.T) {
		const limit = 8 << 10
		st := &MemoryStore{MaxBytes: limit}
		for range 50 {
			id, _ := stored(t, st)
			if err := update(st, ctx, id, map[string]any{"v": strings.Repeat("x", 1000)}, nil); err != nil {
				t.Fatal(err)
			}
			if st.bytes > limit {
				t.Fatalf("%d bytes stored, bound %d", st.bytes, limit)
			}
		}
		if n := st.Len(); n == 0 || n > limit/1000 {
			t.Errorf("%d sessions of over 1,000 bytes within %d bytes", n, limit)
		}
		// A session larger than the bound on its own is refused, and the
		// others stay.
		n := st.Len()
		big := testRecord(now)
		big.Values = map[string]any{"v": strings.Repeat("x", limit)}
		if _, err := st.Commit(ctx, createMutation(Handle(newID()), big)); err == nil {
			t.Error("a session larger than MaxBytes was stored")
		}
		if st.Len() != n {
			t.Errorf("%d sessions after the refusal, want %d", st.Len(), n)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		var st MemoryStore // the zero value is usable
		id, _ := stored(t, &st)
		if err := visit(&st, id); err != nil {
			t.Error(err)
		}
	})
}
