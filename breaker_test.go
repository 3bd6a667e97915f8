package sessions

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFailFastDuringAnOutage(t *testing.T) {
	st := &hookStore{Store: NewMemoryStore()}
	var got []error
	m := newManager(t, st, Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = append(got, err)
		defaultErrorHandler(w, r, err)
	}})
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return clock }
	h := m.Middleware(greet)
	v := &visitor{t: t, h: h}
	v.get("/")

	st.down.Store(true)
	st.calls.Store(0)
	for i := range breakerThreshold + 3 {
		if res := v.get("/"); res.code != http.StatusServiceUnavailable {
			t.Fatalf("request %d during the outage: %d, want 503", i, res.code)
		}
	}
	// The first requests waited for the store; the rest failed at once.
	if calls := st.calls.Load(); calls != breakerThreshold {
		t.Errorf("%d store calls, want %d: one per request until the breaker opens", calls, breakerThreshold)
	}
	for i, err := range got {
		fast := strings.Contains(err.Error(), "failing fast")
		if !errors.Is(err, ErrUnavailable) || fast != (i >= breakerThreshold) {
			t.Errorf("error %d handed to ErrorHandler: %v; want the store's error, then failing fast, all ErrUnavailable", i, err)
		}
	}

	// After the cool-down one call probes; it fails: open again.
	clock = clock.Add(breakerCooldown)
	v.get("/")
	if calls := st.calls.Load(); calls != 1+breakerThreshold {
		t.Errorf("%d store calls after the cool-down, want one probe more", calls)
	}
	v.get("/")
	if calls := st.calls.Load(); calls != 1+breakerThreshold {
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
	m := newManager(t, NewMemoryStore(), Config{})
	clock := time.Unix(0, 0)
	m.now = func() time.Time { return clock }
	call := func(ctx context.Context, err error) error {
		return m.call(ctx, "read", func(context.Context) error { return err })
	}
	ctx := context.Background()
	for _, err := range []error{ErrNotFound, ErrConflict, errors.New("permission denied")} {
		for range breakerThreshold {
			if got := call(ctx, err); got != err {
				t.Fatalf("%v: %v, want it as the store said it", err, got)
			}
		}
	}
	// The request went away: nothing learnt of the store.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for range breakerThreshold {
		_ = call(gone, context.Canceled)
	}
	for range breakerThreshold - 1 {
		_ = call(ctx, errDown)
	}
	_ = call(ctx, nil) // an answer in between: not in a row
	_ = call(ctx, errDown)
	if err := call(ctx, nil); err != nil {
		t.Error("failures that were not in a row opened the breaker")
	}
	// A store call that outlives Config.Timeout is an outage, whatever the
	// store says.
	for range breakerThreshold {
		sctx, cancel := m.storeContext(ctx)
		_ = m.call(sctx, "read", func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		cancel()
	}
	if err := call(ctx, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after %d store timeouts: %v, want failing fast", breakerThreshold, err)
	}
	// A probe whose request goes away lets the next call probe.
	clock = clock.Add(breakerCooldown)
	probing := make(chan struct{})
	done := make(chan error)
	pctx, pcancel := context.WithCancel(ctx)
	go func() {
		done <- m.call(pctx, "read", func(ctx context.Context) error {
			close(probing)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	<-probing
	if err := call(ctx, nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a second call let through while the probe runs: %v", err)
	}
	pcancel()
	<-done
	if err := call(ctx, nil); err != nil {
		t.Errorf("no new probe after an abandoned one: %v", err)
	}
}
