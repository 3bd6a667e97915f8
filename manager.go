package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A Manager holds a session store and its configuration; its Middleware
// method puts sessions in front of handlers. A Manager is safe for
// concurrent use, and one Manager should serve all the handlers that share
// sessions, because it coalesces the concurrent requests of each session:
// routes that need another transport, laziness or no view counted take
// [Manager.With], which shares all that.
//
// The Manager holds the policy of sessions, for every store alike: when a
// session has ended, when its expiry moves, which ids and values are valid,
// and what to do when a store's answer is lost. A [Store] only keeps
// records.
type Manager struct {
	cfg Config // the Config of New, with a route's options applied
	*shared
}

// shared is what the Managers of one New and its With share.
type shared struct {
	store   Store
	tel     *telemetry
	visits  visits
	turns   turns          // of the read-modify-writes of each session
	pending sync.WaitGroup // background writes: the slides of sessions outside requests
	breaker breaker
	now     func() time.Time // the clock; tests replace it

	plainHTTPWarned atomic.Bool // the warning of warnPlainHTTP was logged
}

// New returns a Manager that keeps sessions in store, configured by cfg
// (see [Config] for the defaults). It fails only on a configuration that
// cannot work, such as a __Host- cookie with a Domain.
func New(store Store, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, errors.New("sessions: nil Store")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(cfg.TracerProvider, cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("sessions: telemetry: %w", err)
	}
	m := &Manager{cfg: cfg, shared: &shared{store: store, tel: tel, now: cfg.Clock}}
	m.visits = visits{visit: m.visit, queues: make(map[string]*queue)}
	m.breaker.now = func() time.Time { return m.now() }
	return m, nil
}

// Shutdown waits until the Manager's background writes are done, or ctx
// ends (its error is then returned). The writes of a request are done when
// the middleware returns; what may still run is the expiry's slide of a
// session that [Manager.Load] returned. Call it at graceful shutdown,
// after http.Server.Shutdown has waited for the requests, and before
// closing the store:
//
//	srv.Shutdown(ctx)
//	m.Shutdown(ctx)
//	store.Close()
func (m *Manager) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		m.pending.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sessions: shutdown: background writes still under way: %w", ctx.Err())
	}
}

// storeContext bounds the store calls of one operation by Config.Timeout.
func (m *Manager) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, m.cfg.Timeout, errStoreTimeout)
}

// get reads the record under key: one store call of operation op.
func (m *Manager) get(ctx context.Context, op, key string) (Record, error) {
	var rec Record
	err := m.call(ctx, op, func(ctx context.Context) (err error) {
		rec, err = m.store.Get(ctx, key)
		return err
	})
	return rec, err
}

// commit applies ms atomically: one store call of operation op.
func (m *Manager) commit(ctx context.Context, op string, ms ...Mutation) ([]Record, error) {
	var out []Record
	err := m.call(ctx, op, func(ctx context.Context) (err error) {
		out, err = m.store.Commit(ctx, ms...)
		if err == nil && len(out) != len(ms) {
			err = fmt.Errorf("sessions: the store answered %d records for %d mutations", len(out), len(ms))
		}
		return err
	})
	return out, err
}

// call makes one store call, f, within the breaker and with its telemetry.
// Its error wraps ErrUnavailable when the store did not answer in time,
// whatever the store said.
func (m *Manager) call(ctx context.Context, op string, f func(context.Context) error) error {
	ok, probe := m.breaker.allow()
	if !ok {
		return fmt.Errorf("%w: failing fast: the store has failed %d times in a row", ErrUnavailable, breakerThreshold)
	}
	ctx, c := m.tel.begin(ctx, op)
	err := f(ctx)
	ended := false // the request ended first: nothing learnt of the store
	if err != nil && ctx.Err() != nil {
		if context.Cause(ctx) == errStoreTimeout {
			err = fmt.Errorf("%w: %w", errStoreTimeout, err)
		} else {
			ended = true
		}
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	c.end(ctx, err)
	if ended {
		m.breaker.release(probe)
		return err
	}
	switch opened, closed := m.breaker.done(errors.Is(err, ErrUnavailable), probe); {
	case opened:
		m.cfg.Logger.Error("sessions: the store is down: failing fast", slog.Duration("probe_every", breakerCooldown), slog.Any("err", err))
	case closed:
		m.cfg.Logger.Info("sessions: the store answers again")
	}
	return err
}

// getAll reads the records under keys, side by side: their records, and
// for each an error (ErrNotFound for a missing one).
func (m *Manager) getAll(ctx context.Context, op string, keys []string) ([]Record, []error) {
	recs, errs := make([]Record, len(keys)), make([]error, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			recs[i], errs[i] = m.get(ctx, op, k)
		})
	}
	wg.Wait()
	return recs, errs
}

// A Store never sends a write twice: when its answer is lost, the Manager
// finds out what happened here, by reading the record.
//
//   - A mutation that creates a record under a new random key was applied
//     if the key holds a record: no one else can know the key.
//   - A mutation of a record known at a version was not applied if the
//     record is still at that version; it can then be sent again.
//   - Otherwise it was applied if the record shows its effect in full
//     (goal), for the changes that mean the same done twice (values set
//     to given values, an expiry moved to a given time); never for those
//     that do not (a view, a pop, an increment).
//
// What cannot be told is an error wrapping ErrUnavailable: the request
// gets its 503, and the visitor tries again. A write is never sent again
// after another change came between: it could undo that change (bring
// back a value that another request popped).

// resolveCreate reports whether a call whose answer was lost created the
// record under key, a new random key.
func (m *Manager) resolveCreate(ctx context.Context, key string) (bool, error) {
	_, err := m.resolveRead(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("%w: %w", errUnknownOutcome, err)
}

// resolveRead reads the record under key to find out what a write whose
// answer was lost did; a read whose answer is lost too is tried again,
// a few times, within ctx.
// If every try fails, the first error is returned: it names the cause,
// where a later one may only say that the breaker has opened.
func (m *Manager) resolveRead(ctx context.Context, key string) (Record, error) {
	var first error
	for try := 0; ; try++ {
		rec, err := m.get(ctx, "resolve", key)
		if first == nil {
			first = err
		}
		if !errors.Is(err, ErrUnavailable) {
			return rec, err
		}
		if ctx.Err() != nil || try == 2 || pause(ctx, try+1) != nil {
			return rec, first
		}
	}
}

// resolveChange finds out whether a mutation of the record under key, as
// it was at version before ("" if unknown), whose answer was lost, was
// applied: it returns the record as stored now, and whether the mutation
// was applied. goal, when not nil, reports whether a record shows the
// mutation's effect in full.
func (m *Manager) resolveChange(ctx context.Context, key, before string, goal func(Record) bool) (rec Record, applied bool, err error) {
	rec, err = m.resolveRead(ctx, key)
	switch {
	case err != nil:
		return rec, false, fmt.Errorf("%w: %w", errUnknownOutcome, err)
	case before != "" && rec.Version == before:
		return rec, false, nil
	case goal != nil && goal(rec):
		return rec, true, nil
	}
	return rec, false, errUnknownOutcome
}

// fence deletes the record under key, found ended as rec, if it is still
// at rec's version, so that no write in flight (a slide) can bring it
// back after it was found ended. Records kept to tell why a session ended
// or where it went are left to their expiry.
func (m *Manager) fence(ctx context.Context, key string, rec Record) {
	if ms := fenceMutations(key, rec); len(ms) > 0 && rec.Version != "" {
		_, _ = m.commit(ctx, "read", ms...)
	}
}

// logFailure logs a store failure of the request r.
func (m *Manager) logFailure(r *http.Request, op string, err error) {
	level := slog.LevelError
	if r.Context().Err() != nil {
		level = slog.LevelWarn // the client went away: not the store's fault
	}
	m.cfg.Logger.Log(r.Context(), level, "sessions: store failed",
		slog.String("op", op),
		slog.String("error_type", errorClass(err)),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Any("err", err))
}

// fenceMutations returns the mutation that deletes the session under key,
// found ended as rec, if it is still at rec's version: a session that a
// write in flight (a slide) brings back is then not dropped from its
// owner's list, as the write fails instead. Records kept to tell why a
// session ended or where it went stay to their expiry.
func fenceMutations(key string, rec Record) []Mutation {
	if rec.MovedTo != "" || rec.Ended != "" {
		return nil
	}
	return []Mutation{{Key: key, IfVersion: rec.Version, Delete: true}}
}

// endMutations return the mutations that end the session under key,
// stored as rec (it must still be stored), and keep in its place, until it
// would have expired, a record that tells its visitor's next request why.
func endMutations(key string, rec Record, why EndReason) []Mutation {
	return []Mutation{
		{Key: key, Delete: true},
		{Key: key, Create: true, Attrs: &Attrs{Created: rec.Created, Renewed: rec.Renewed, Expires: rec.Expires, Deadline: rec.Deadline, Ended: why}},
	}
}
