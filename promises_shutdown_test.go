package sessions

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// slideGate is a Store whose next move of an expiry alone (the slide of a
// view), once armed, waits in the store until release is closed; entered
// tells when it waits.
type slideGate struct {
	Store
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *slideGate) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	slide := len(ms) == 1 && ms[0].Attrs != nil && ms[0].IfVersion != "" && ms[0].Set == nil && ms[0].Unset == nil && ms[0].AddViews == 0
	if slide && g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.release
	}
	return g.Store.Commit(ctx, ms...)
}

// Background writes must be awaitable at shutdown: Shutdown waits for the
// slide of a session used through Load, and once it returns the slide has
// landed.
func TestShutdownWaitsForLoadSlides(t *testing.T) {
	const idle = 10 * time.Minute
	// check loads a session through m, whose slide the store holds once
	// arm is called, from entered until release is closed. other, another
	// instance, checks the session afterwards.
	check := func(t *testing.T, m *Manager, other http.Handler, clock *testClock, arm func(), entered <-chan struct{}, release chan<- struct{}) {
		ctx := context.Background()
		id := newVisitorID(t, m.Middleware(http.HandlerFunc(promisePage)), "/")
		clock.add(idle / 2) // the Load's view slides the expiry
		arm()
		loaded := make(chan *Session, 1)
		go func() {
			s, err := m.Load(ctx, id)
			if err != nil {
				t.Errorf("Load: %v", err)
			}
			loaded <- s
		}()
		<-entered
		ended, cancel := context.WithCancel(ctx)
		cancel()
		if err := m.Shutdown(ended); err == nil {
			t.Error("Shutdown with an ended context returned nil while the slide of a Load was held; want it to wait for the slide, and give up with an error")
		}
		close(release)
		if s := <-loaded; s != nil {
			if err := m.Save(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := m.Shutdown(wait); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		clock.add(idle * 3 / 4) // past the old expiry, before the slid one
		if !served(t, other, id) {
			t.Error("the session ended at its old expiry: the slide of the Load had not landed when Shutdown returned")
		}
	}
	t.Run("memory", func(t *testing.T) {
		clock := newTestClock()
		cfg := Config{Lifetime: Lifetime{Idle: idle}, Clock: clock.now}
		st := NewMemoryStore()
		g := &slideGate{Store: st, entered: make(chan struct{}), release: make(chan struct{})}
		other := newManager(t, st, cfg).Middleware(http.HandlerFunc(promisePage))
		check(t, newManager(t, g, cfg), other, clock, func() { g.armed.Store(true) }, g.entered, g.release)
	})
	t.Run("firestore", func(t *testing.T) {
		clock := newTestClock()
		cfg := Config{Lifetime: Lifetime{Idle: idle}, Clock: clock.now}
		opt, faults := faultyConn(t)
		st, project := firestoreStore(t, FirestoreConfig{}, opt)
		other := newManager(t, openStore(t, project, FirestoreConfig{}), cfg).Middleware(http.HandlerFunc(promisePage))
		entered, release := make(chan struct{}), make(chan struct{})
		arm := func() {
			faults.arm(&fault{method: "Commit", match: masks("expiresAt"), after: func() {
				close(entered)
				<-release
			}})
		}
		check(t, newManager(t, st, cfg), other, clock, arm, entered, release)
	})
}
