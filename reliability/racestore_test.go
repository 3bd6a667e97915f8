package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firestore-sessions/sessions"
)

// The race suite's lost answers for a store without a network: a wrapper
// round a sessions.Store that, at a given rate, lets a call take effect and
// then returns an error wrapping sessions.ErrUnavailable, as a store whose
// answer was lost does; half of those errors come after a while
// (slowLoss). Each call also takes up to a millisecond on its way to the
// store and back, as to a database that three instances share, so that
// concurrent requests overlap there as they do on Firestore. It is kept
// small and on its own.

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
	return fmt.Errorf("%w: race suite: the answer of %s was lost after the store applied it: %w", sessions.ErrUnavailable, op, context.DeadlineExceeded)
}

// faultStore wraps a sessions.Store with lost answers.
type faultStore struct {
	inner sessions.Store
	f     *storeFaults
}

// withFaults returns inner wrapped by f.
func withFaults(inner sessions.Store, f *storeFaults) sessions.Store {
	return &faultStore{inner: inner, f: f}
}

func (s *faultStore) Get(ctx context.Context, key string) (sessions.Record, error) {
	s.f.travel(ctx)
	rec, err := s.inner.Get(ctx, key)
	if err != nil {
		return rec, err
	}
	if err := s.f.lose(ctx, "get"); err != nil {
		return sessions.Record{}, err
	}
	return rec, nil
}

func (s *faultStore) Commit(ctx context.Context, ms ...sessions.Mutation) ([]sessions.Record, error) {
	s.f.travel(ctx)
	out, err := s.inner.Commit(ctx, ms...)
	if err != nil {
		return out, err
	}
	if err := s.f.lose(ctx, "commit"); err != nil {
		return nil, err
	}
	return out, nil
}
