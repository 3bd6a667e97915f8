package sessions

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// visits coalesces the concurrent views of each session in this process.
//
// A visit is a store write (and sometimes a second, to move the expiry or
// the id): two visits of one session side by side would each pay for it,
// so views of one session never run side by side here. While one visit of a
// session is under way, later requests of that session queue; when it
// ends, one visit counts all the queued views at once and hands each
// request its own view number. A hot session thus costs one store call per
// round of requests instead of one per request, and no request waits behind
// more than one visit before its own. The first request of a session runs
// its visit itself; later batches run on a goroutine, so every request can
// leave at its own deadline.
type visits struct {
	visit func(ctx context.Context, key string, views int64) (visited, error)

	mu     sync.Mutex
	queues map[string]*queue // by session key; present while a batch runs
}

// queue holds the requests of one session waiting for the next batch.
type queue struct{ waiting []*waiter }

type waiter struct {
	ctx  context.Context
	done chan outcome // buffered: the sender never blocks; nil for a request that never queued
}

// outcome is what a batch hands a waiter: the visit and its view number,
// or the error.
type outcome struct {
	visited
	n   int64
	err error
}

// do counts one view of the session under key and returns the visit and
// this view's number. It returns by ctx's deadline whatever the store
// does.
func (v *visits) do(ctx context.Context, key string) (visited, int64, error) {
	w := &waiter{ctx: ctx}
	v.mu.Lock()
	q, busy := v.queues[key]
	if !busy {
		v.queues[key] = &queue{}
		v.mu.Unlock()
		return v.lead(key, []*waiter{w}, w)
	}
	w.done = make(chan outcome, 1)
	q.waiting = append(q.waiting, w)
	v.mu.Unlock()

	select {
	case o := <-w.done:
		return o.visited, o.n, o.err
	case <-ctx.Done():
		// Leave the queue if no batch has taken this view yet; if one has,
		// the view may still be counted, as for any request whose
		// visit outlives it: its outcome is unknown to the visitor.
		v.withdraw(q, w)
		return visited{}, 0, fmt.Errorf("%w: waiting for the session's visit: %w", ErrUnavailable, ctx.Err())
	}
}

// withdraw removes w from q unless a batch has taken it.
func (v *visits) withdraw(q *queue, w *waiter) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if i := slices.Index(q.waiting, w); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
	}
}

// lead runs one visit for batch, answers its members (self, the
// member running it, if any, by the return value), then starts the next
// batch if requests queued meanwhile. Later batches run on goroutines of
// their own, so that no request has to stay beyond its deadline to run
// other requests' visit.
func (v *visits) lead(key string, batch []*waiter, self *waiter) (visited, int64, error) {
	vis, err := v.run(key, batch)

	var mine outcome
	n := int64(len(batch))
	for i, w := range batch {
		// Each member gets a view number of its own; the record is the
		// stored one, with the stored count, for all of them.
		o := outcome{visited: vis, n: vis.n - n + 1 + int64(i), err: err}
		if err == nil && i < len(batch)-1 {
			o.rec.Values = copyValues(vis.rec.Values)
		}
		if w == self {
			mine = o
		} else {
			w.done <- o
		}
	}

	v.mu.Lock()
	q := v.queues[key]
	next := q.waiting
	q.waiting = nil
	if len(next) == 0 {
		delete(v.queues, key)
	}
	v.mu.Unlock()
	if len(next) > 0 {
		go v.lead(key, next, nil)
	}
	return mine.visited, mine.n, mine.err
}

// run counts the views of batch in one store visit. The visit
// must not end with the request that happens to lead it, so it runs
// detached from that request's cancellation, within the latest deadline of
// the batch's requests: a member with a short deadline leaves at it (see
// do) without failing the others.
func (v *visits) run(key string, batch []*waiter) (visited, error) {
	if len(batch) == 1 {
		// A batch of one answers nobody else: its own request's context
		// will do. (Requests queued meanwhile wait for the next batch.)
		return v.visit(batch[0].ctx, key, 1)
	}
	ctx := context.WithoutCancel(batch[0].ctx)
	var deadline time.Time
	for _, w := range batch {
		d, ok := w.ctx.Deadline()
		if !ok {
			deadline = time.Time{} // one member waits as long as it takes
			break
		}
		if d.After(deadline) {
			deadline = d
		}
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		// The members' deadlines are their store timeouts: so is the batch's.
		ctx, cancel = context.WithDeadlineCause(ctx, deadline, errStoreTimeout)
		defer cancel()
	}
	return v.visit(ctx, key, int64(len(batch)))
}

// A visited is what one visit of a session found and did: a view (or a
// batch of coalesced views) counted in one store write, or the read of an
// Uncounted route, and what the Manager decided on it.
type visited struct {
	key   string    // where the session is: a rotation's grace may have led elsewhere
	rec   Record    // as stored, with the stored count
	n     int64     // the count right after this visit's views: the last view number of its batch
	newID string    // the new id a rotation gave the session, "" for none
	slide *sliding  // the move of the expiry started beside the request, if any
	ended EndReason // with ErrNotFound: why the session ended, when its visitor is told
}
