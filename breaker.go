package sessions

import (
	"sync"
	"time"
)

// breaker makes the Manager fail fast while the store is down. Every store
// call waits up to Config.Timeout for an unreachable store before failing;
// after breakerThreshold such failures in a row, the breaker opens: for
// breakerCooldown, store calls fail at once with ErrUnavailable. Then one
// call probes the store while the others still fail fast; its answer
// closes the breaker, its failure opens it again. It watches store calls,
// not requests: a request that calls no store (a lazy page without a
// session) neither probes nor proves anything.
//
// Only outages count: errors wrapping ErrUnavailable, unless the call's
// request ended first. A missing session or a refused write is an answer.
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

// done records the outcome of a store call that allow let through: an
// outage (the store down or too slow), or an answer. It reports whether it
// opened the breaker (from closed) or closed it.
func (b *breaker) done(outage, probe bool) (opened, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	if outage {
		b.failures++
		if b.failures >= breakerThreshold {
			b.openUntil = b.now().Add(breakerCooldown)
		}
		return b.failures == breakerThreshold, false
	}
	closed = b.failures >= breakerThreshold
	b.failures = 0
	return false, closed
}

// release gives back the probe slot of a call that ended without an
// answer or an outage (its request went away first): nothing was learnt.
func (b *breaker) release(probe bool) {
	if probe {
		b.mu.Lock()
		b.probing = false
		b.mu.Unlock()
	}
}
