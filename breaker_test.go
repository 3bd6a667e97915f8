package sessions

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// outageStore is a memory store that can be made unreachable, and counts
// the calls that reach it.
type outageStore struct {
	*MemoryStore
	down  atomic.Bool
	calls atomic.Int64
}

func (s *outageStore) check() error {
	s.calls.Add(1)
	if s.down.Load() {
		return status.Error(codes.Unavailable, "connection refused")
	}
	return nil
}

func (s *outageStore) Create(ctx context.Context, id string, rec Record) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.MemoryStore.Create(ctx, id, rec)
}

func (s *outageStore) Visit(ctx context.Context, id string, n int64) (Record, error) {
	if err := s.check(); err != nil {
		return Record{}, err
	}
	return s.MemoryStore.Visit(ctx, id, n)
}

func TestFailFastDuringAnOutage(t *testing.T) {
	st := &outageStore{MemoryStore: NewMemoryStore()}
	var got []error
	m := newManager(t, st, Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = append(got, err)
		unavailable(w, r, err)
	}})
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return clock }
	h := m.Middleware(greet)
	v := &visitor{t: t, h: h}
	v.get("/")

	st.down.Store(true)
	for i := range breakerThreshold + 3 {
		if res := v.get("/"); res.code != http.StatusServiceUnavailable {
			t.Fatalf("request %d during the outage: %d, want 503", i, res.code)
		}
	}
	// The first requests waited for the store; the rest failed at once.
	if calls := st.calls.Load(); calls != 1+breakerThreshold {
		t.Errorf("%d store calls, want %d: one per request until the breaker opens", calls, 1+breakerThreshold)
	}
	if n := len(got); n != breakerThreshold+3 || !errors.Is(got[n-1], ErrUnavailable) || errors.Is(got[0], ErrUnavailable) {
		t.Errorf("errors handed to ErrorHandler: %v; want store errors, then ErrUnavailable", got)
	}

	// After the cool-down one request probes; it fails: open again.
	clock = clock.Add(breakerCooldown)
	v.get("/")
	if calls := st.calls.Load(); calls != 2+breakerThreshold {
		t.Errorf("%d store calls after the cool-down, want one probe more", calls)
	}
	v.get("/")
	if calls := st.calls.Load(); calls != 2+breakerThreshold {
		t.Errorf("%d store calls right after a failed probe, want none more", calls)
	}

	// The store is back: the next probe succeeds, and all is served again.
	st.down.Store(false)
	clock = clock.Add(breakerCooldown)
	for i := range 3 {
		if res := v.get("/"); res.code != http.StatusOK {
			t.Errorf("request %d after the store's return: %d, want 200", i, res.code)
		}
	}
}

func TestBreakerCountsOnlyOutages(t *testing.T) {
	clock := time.Unix(0, 0)
	b := breaker{now: func() time.Time { return clock }}
	for _, err := range []error{
		context.Canceled,                         // the client went away
		ErrNotFound,                              // the store answered
		status.Error(codes.PermissionDenied, ""), // it answered too
	} {
		for range breakerThreshold {
			ok, probe := b.allow()
			if !ok {
				t.Fatalf("%v opened the breaker", err)
			}
			b.done(err, probe)
		}
	}
	for range breakerThreshold - 1 {
		b.done(context.DeadlineExceeded, false)
	}
	b.done(nil, false) // a success in between: not in a row
	b.done(status.Error(codes.Unavailable, ""), false)
	if ok, _ := b.allow(); !ok {
		t.Error("failures that were not in a row opened the breaker")
	}
	// A probe that the client abandons lets the next request probe.
	for range breakerThreshold {
		b.done(status.Error(codes.Unavailable, ""), false)
	}
	clock = clock.Add(breakerCooldown)
	ok, probe := b.allow()
	if !ok || !probe {
		t.Fatal("no probe after the cool-down")
	}
	if ok, _ := b.allow(); ok {
		t.Error("a second request let through while the probe runs")
	}
	b.done(context.Canceled, true)
	if ok, probe := b.allow(); !ok || !probe {
		t.Error("no new probe after an abandoned one")
	}
}
