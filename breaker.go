package sessions

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// breaker makes the middleware fail fast while the store is down. Every
// request waits up to Config.Timeout for an unreachable store before its
// 503; after breakerThreshold such failures in a row, the breaker opens: for
// breakerCooldown, requests get their 503 at once, without a store call.
// Then one request probes the store while the others still fail fast; its
// success closes the breaker, its failure opens it again.
//
// Only outages count: the store unreachable (Unavailable) or too slow
// (DeadlineExceeded, or the store call's own deadline). A client that went
// away, a missing session or a refused write says nothing about the store.
type breaker struct {
	now func() time.Time

	mu        sync.Mutex
	failures  int       // outage failures in a row
	openUntil time.Time // while open: when a probe may go
	probing   bool      // a probe is under way
}

const (
	breakerThreshold = 3
	breakerCooldown  = 500 * time.Millisecond
)

// allow reports whether a request may call the store, and whether it is
// the probe of an open breaker.
func (b *breaker) allow() (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < breakerThreshold {
		return true, false
	}
	if b.probing || b.now().Before(b.openUntil) {
		return false, false
	}
	b.probing = true
	return true, true
}

// done records the outcome of a request that allow let through, and
// reports whether it opened the breaker (from closed) or closed it.
func (b *breaker) done(err error, probe bool) (opened, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, errRequestEnded):
		// The client went away, or its own deadline passed: nothing
		// learnt about the store.
	case outage(err):
		b.failures++
		if b.failures >= breakerThreshold {
			b.openUntil = b.now().Add(breakerCooldown)
		}
		return b.failures == breakerThreshold, false
	default:
		// The store answered.
		closed = b.failures >= breakerThreshold
		b.failures = 0
	}
	return false, closed
}

// errRequestEnded marks a failure of a request whose own context ended
// first, which says nothing about the store.
var errRequestEnded = errors.New("sessions: the request ended")

// outage reports whether err means the store is down or too slow.
func outage(err error) bool {
	if err == nil {
		return false
	}
	c := code(err)
	return c == codes.Unavailable || c == codes.DeadlineExceeded
}
