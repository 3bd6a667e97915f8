package sessions

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// A read-modify-write of a session is conditional on the version it read;
// when another change came between, it reads again and tries again, within
// a bound of tries and the store timeout.

// maxTries bounds the tries of a read-modify-write that keeps finding the
// session changed (the store timeout bounds them too).
const maxTries = 64

// turns lets the read-modify-writes of a session in this process run one
// at a time, so that they conflict only with other instances' changes and
// with views, not with each other.
type turns struct {
	mu   sync.Mutex
	byID map[string]*turn
}

type turn struct {
	held    chan struct{} // full while a read-modify-write runs
	waiters int           // holders and waiters, for removing the turn
}

// take waits for session id's turn, within ctx, and returns its release.
func (t *turns) take(ctx context.Context, id string) (release func(), err error) {
	t.mu.Lock()
	if t.byID == nil {
		t.byID = make(map[string]*turn)
	}
	tr := t.byID[id]
	if tr == nil {
		tr = &turn{held: make(chan struct{}, 1)}
		t.byID[id] = tr
	}
	tr.waiters++
	t.mu.Unlock()
	leave := func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if tr.waiters--; tr.waiters == 0 {
			delete(t.byID, id)
		}
	}
	select {
	case tr.held <- struct{}{}:
		return func() { <-tr.held; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// pause waits before the next try of a read-modify-write that found the
// session changed: a jittered pause, growing to 100 ms, so that instances
// changing one session do not keep colliding.
func pause(ctx context.Context, try int) error {
	if try == 0 {
		return nil // the read before the next try is pause enough
	}
	d := time.Duration(rand.Int64N(int64(min(time.Millisecond<<min(try, 7), 100*time.Millisecond))))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
