package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
)

// The race suite's lost answers for a store without a network: a wrapper
// round a sessions.Store that, at a given rate, lets a call take effect and
// then returns an error wrapping context.DeadlineExceeded, as a store whose
// answer was lost would; half of those errors come after a while
// (slowLoss). Each call also takes up to a millisecond on its way to the
// store and back, as to a database that three instances share, so that
// concurrent requests overlap there as they do on Firestore. It is kept
// small and on its own, so that a change of the Store interface touches
// only this file.

// storeFaults draws the lost answers of one instance's store.
type storeFaults struct {
	mu   sync.Mutex
	rng  *rand.Rand
	rate float64

	injected atomic.Int64 // answers replaced
}

func newStoreFaults(seed uint64, rate float64) *storeFaults {
	return &storeFaults{rng: rand.New(rand.NewPCG(seed, 0x5707e)), rate: rate}
}

// travel holds a call on its way to the store or back.
func (f *storeFaults) travel(ctx context.Context) {
	f.mu.Lock()
	d := time.Duration(f.rng.IntN(1000)) * time.Microsecond
	f.mu.Unlock()
	hold(ctx, d)
}

// lose returns the error that replaces the answer of op, which has taken
// effect, or nil to keep the answer. It holds the answer on its way back
// first.
func (f *storeFaults) lose(ctx context.Context, op string) error {
	f.travel(ctx)
	f.mu.Lock()
	hit := f.rng.Float64() < f.rate
	var slow time.Duration
	if hit {
		slow = slowLoss(f.rng)
	}
	f.mu.Unlock()
	if !hit {
		return nil
	}
	f.injected.Add(1)
	hold(ctx, slow)
	return fmt.Errorf("race suite: the answer of %s was lost after the store applied it: %w", op, context.DeadlineExceeded)
}

// faultStore is the wrapper of today's sessions.Store.
type faultStore struct {
	inner sessions.Store
	f     *storeFaults
}

// withFaults returns inner wrapped by f, with the optional interfaces of
// inner that the Manager looks for (OwnerIndex, DocumentStore), and no
// others.
func withFaults(inner sessions.Store, f *storeFaults) sessions.Store {
	s := &faultStore{inner: inner, f: f}
	owners, isIndex := inner.(sessions.OwnerIndex)
	doc, isDoc := inner.(sessions.DocumentStore)
	switch {
	case isIndex && isDoc:
		return struct {
			*faultStore
			faultOwners
			faultDoc
		}{s, faultOwners{owners, f}, faultDoc{doc}}
	case isIndex:
		return struct {
			*faultStore
			faultOwners
		}{s, faultOwners{owners, f}}
	case isDoc:
		return struct {
			*faultStore
			faultDoc
		}{s, faultDoc{doc}}
	}
	return s
}

func (s *faultStore) Create(ctx context.Context, id string, rec sessions.Record) error {
	s.f.travel(ctx)
	if err := s.inner.Create(ctx, id, rec); err != nil {
		return err
	}
	return s.f.lose(ctx, "create")
}

func (s *faultStore) Get(ctx context.Context, id string) (sessions.Record, error) {
	s.f.travel(ctx)
	rec, err := s.inner.Get(ctx, id)
	if err != nil {
		return rec, err
	}
	if err := s.f.lose(ctx, "get"); err != nil {
		return sessions.Record{}, err
	}
	return rec, nil
}

func (s *faultStore) Visit(ctx context.Context, id string, views int64) (sessions.Record, error) {
	s.f.travel(ctx)
	rec, err := s.inner.Visit(ctx, id, views)
	if err != nil {
		return rec, err
	}
	if err := s.f.lose(ctx, "visit"); err != nil {
		return sessions.Record{}, err
	}
	return rec, nil
}

func (s *faultStore) Apply(ctx context.Context, id string, c sessions.Change) (sessions.Applied, error) {
	s.f.travel(ctx)
	a, err := s.inner.Apply(ctx, id, c)
	if err != nil {
		return a, err
	}
	if err := s.f.lose(ctx, "apply"); err != nil {
		return sessions.Applied{}, err
	}
	return a, nil
}

func (s *faultStore) Rename(ctx context.Context, oldID, newID string, rec sessions.Record) error {
	s.f.travel(ctx)
	if err := s.inner.Rename(ctx, oldID, newID, rec); err != nil {
		return err
	}
	return s.f.lose(ctx, "rename")
}

func (s *faultStore) Delete(ctx context.Context, id string) error {
	s.f.travel(ctx)
	if err := s.inner.Delete(ctx, id); err != nil {
		return err
	}
	return s.f.lose(ctx, "delete")
}

func (s *faultStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	s.f.travel(ctx)
	n, err := s.inner.DeleteExpired(ctx, now)
	if err != nil {
		return n, err
	}
	if err := s.f.lose(ctx, "delete expired"); err != nil {
		return 0, err
	}
	return n, nil
}

// faultOwners forwards sessions.OwnerIndex, with the same lost answers.
type faultOwners struct {
	inner sessions.OwnerIndex
	f     *storeFaults
}

func (o faultOwners) Owned(ctx context.Context, owner string) (map[string]sessions.Record, error) {
	o.f.travel(ctx)
	m, err := o.inner.Owned(ctx, owner)
	if err != nil {
		return m, err
	}
	if err := o.f.lose(ctx, "owned"); err != nil {
		return nil, err
	}
	return m, nil
}

func (o faultOwners) DeleteOwned(ctx context.Context, owner string, handles []string) (int, error) {
	o.f.travel(ctx)
	n, err := o.inner.DeleteOwned(ctx, owner, handles)
	if err != nil {
		return n, err
	}
	if err := o.f.lose(ctx, "delete owned"); err != nil {
		return 0, err
	}
	return n, nil
}

// faultDoc forwards sessions.DocumentStore's collection name.
type faultDoc struct{ inner sessions.DocumentStore }

func (d faultDoc) Collection() string { return d.inner.Collection() }

// The wrapper shows the Manager the optional interfaces of the store it
// wraps, and only those.
func TestFaultStoreInterfaces(t *testing.T) {
	s := withFaults(sessions.NewMemoryStore(), newStoreFaults(1, 0))
	if _, ok := s.(sessions.OwnerIndex); !ok {
		t.Error("the memory store's wrapper is not an OwnerIndex")
	}
	if _, ok := s.(sessions.DocumentStore); ok {
		t.Error("the memory store's wrapper is a DocumentStore")
	}
	type doc struct {
		sessions.Store
		faultDoc
	}
	d := withFaults(doc{sessions.NewMemoryStore(), faultDoc{}}, newStoreFaults(1, 0))
	if _, ok := d.(sessions.DocumentStore); !ok {
		t.Error("the wrapper of a DocumentStore is not one")
	}
	if _, ok := d.(sessions.OwnerIndex); ok {
		t.Error("the wrapper of a store without an owner index is an OwnerIndex")
	}
}
