package sessions

import (
	"context"
	"fmt"
	"sync/atomic"
)

// hookStore is a Store whose calls a test can count, fail and intercept.
type hookStore struct {
	Store
	calls atomic.Int64
	down  atomic.Bool // calls fail as when the store cannot be reached
	// commit, when set, makes each Commit: next sends it to the store.
	commit func(ctx context.Context, ms []Mutation, next func() ([]Record, error)) ([]Record, error)
}

var errDown = fmt.Errorf("%w: connection refused", ErrUnavailable)

func (s *hookStore) Get(ctx context.Context, key string) (Record, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return Record{}, errDown
	}
	return s.Store.Get(ctx, key)
}

func (s *hookStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	next := func() ([]Record, error) { return s.Store.Commit(ctx, ms...) }
	if s.commit != nil {
		return s.commit(ctx, ms, next)
	}
	return next()
}

// validID reports whether id is a session id as the middleware issues them.
func validID(id string) bool {
	_, ok := parseID(id)
	return ok
}

// isView reports whether ms is the write of a view: views counted, nothing
// else changed.
func isView(ms []Mutation) bool {
	return len(ms) == 1 && ms[0].AddViews > 0 && !ms[0].Create && ms[0].Set == nil && ms[0].Attrs == nil
}
