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

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A Manager holds a session store and its configuration; its Middleware
// method puts sessions in front of handlers. A Manager is safe for
// concurrent use, and one Manager should serve all the handlers that share
// sessions, because it coalesces the concurrent requests of each session:
// routes that need another transport or laziness than the Config's take
// [Manager.With], which shares all that.
type Manager struct {
	cfg Config // the Config of New, with a route's options applied
	*shared
}

// shared is what the Managers of one New and its With share.
type shared struct {
	store      Store
	collection string     // of the store's documents, for their size
	owners     OwnerIndex // the store, when it is one
	visits     visits
	turns      turns          // of the read-modify-writes of each session
	touches    sync.WaitGroup // background slides of expiries
	breaker    breaker
	now        func() time.Time // the clock; tests replace it

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
	m := &Manager{cfg: cfg, shared: &shared{store: instrument(store, tel), collection: defaultCollection, now: cfg.Clock}}
	if d, ok := store.(DocumentStore); ok {
		m.collection = d.Collection()
	}
	m.owners, _ = store.(OwnerIndex)
	m.visits = visits{visit: m.storeVisit, queues: make(map[string]*queue)}
	m.breaker.now = func() time.Time { return m.now() }
	return m, nil
}

// Middleware returns next wrapped in session handling; its signature makes
// it an alice.Constructor: alice.New(m.Middleware).Then(h).
//
// For each request, before next runs, it reads the session id from the
// cookie, then in one store call (Store.Visit) loads the session and counts
// this view; a request with no valid cookie, or whose session is unknown or
// expired, gets a new session with a new server-chosen id. It puts the
// session into the request context ([FromContext]) and the cookie into the
// response headers, so the cookie is sent even when next flushes or
// streams. When the store fails or times out, next is not called and
// Config.ErrorHandler answers (503 by default). After a few requests in a
// row found the store unreachable or too slow, requests fail fast: the
// ErrorHandler answers them at once with [ErrUnavailable], while one
// request every half second probes the store, until it answers again.
//
// It saves the values next changed, and only those: before the response
// headers go, so that a failed save is answered by Config.ErrorHandler
// instead of next's response, and what next changed after that when it
// returns.
//
// Every request through the middleware is a view of a session, HEAD and
// /favicon.ico included: wrap the routes of pages, not a whole mux that
// also serves assets.
//
// The cookie's SameSite=Lax keeps it off other sites' POSTs in current
// browsers; for cross-site request forgery protection that does not depend
// on it, wrap http.NewCrossOriginProtection().Handler round the
// middleware, so that a forged request is refused before it costs a store
// call or a session. Routers that take func(http.Handler) http.Handler
// (chi, echo through echo.WrapMiddleware, gin through an adapter) take
// Middleware as it is: see docs/frameworks.md.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	if next == nil {
		next = http.DefaultServeMux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{ResponseWriter: w, beforeSend: m.keepCookiePrivate}
		if r.TLS == nil && !m.cfg.Insecure && m.cfg.TokenHeader == "" && !m.plainHTTPWarned.Load() && plainFromAfar(r) {
			rw.beforeSend = func(h http.Header) {
				m.keepCookiePrivate(h)
				m.warnPlainHTTP(r, h)
			}
		}
		ok, probe := m.breaker.allow()
		if !ok {
			m.cfg.ErrorHandler(rw, r, ErrUnavailable)
			return
		}
		s, err := m.load(r, rw)
		if err != nil && r.Context().Err() != nil {
			err = fmt.Errorf("%w: %w", errRequestEnded, err) // the client's doing, not the store's
		}
		switch opened, closed := m.breaker.done(err, probe); {
		case opened:
			m.cfg.Logger.Error("sessions: the store is down: failing fast", slog.Duration("probe_every", breakerCooldown), slog.Any("err", err))
		case closed:
			m.cfg.Logger.Info("sessions: the store answers again")
		}
		if err != nil {
			m.fail(rw, r, "load", err)
			return
		}
		// The changes made before the response starts are saved before its
		// headers go (see saveEarly), so that a failed save is answered as
		// an error.
		rw.s, rw.r = s, r
		next.ServeHTTP(rw, r.WithContext(newContext(r.Context(), s)))
		rw.commit() // a handler that wrote nothing: net/http sends the headers now
		if err := m.save(r.Context(), s, true); err != nil {
			m.logFailure(r, "save", err) // after the headers: it can only be logged
		}
	})
}

// load resolves the request's session, counting this view, and sets its
// cookie on w.
func (m *Manager) load(r *http.Request, w *responseWriter) (*Session, error) {
	ctx, cancel := m.storeContext(r.Context())
	defer cancel()
	s := &Session{mgr: m, w: w}
	if id, ok := m.readID(r); ok {
		rec, err := m.visit(ctx, id)
		switch {
		case err == nil:
			s.id, s.rec, s.views = id, rec, rec.Views
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	if s.id == "" {
		if err := m.create(ctx, r, s); err != nil {
			return nil, err
		}
	}
	if s.pending {
		m.private(w.Header())
		return s, nil // no cookie until the handler changes the session
	}
	// The cookie lives until the session's absolute deadline (the server
	// ends it earlier when it is idle), so it needs sending only when it
	// changes: here for a new session, and at Renew and Destroy. A request
	// that read the session before a Renew elsewhere thus never sends the
	// old id back.
	m.private(w.Header())
	if s.isNew {
		m.setCookie(w.Header(), s.id, s.rec)
	}
	return s, nil
}

// visit counts a view of the live session id, coalesced with the
// concurrent views of the session in this process, and returns the record
// as this view sees it (Views is this view's number). A session that ended
// is [ErrNotFound], whatever the store still holds.
func (m *Manager) visit(ctx context.Context, id string) (Record, error) {
	rec, err := m.visits.do(ctx, id)
	if err != nil {
		return Record{}, err
	}
	now := storeTime(m.now())
	if !rec.live(now) {
		return Record{}, fmt.Errorf("%w: the session ended", ErrNotFound)
	}
	if expires, due := m.slide(&rec, now); due && rec.Version != "" {
		m.touch(ctx, id, rec, expires, now)
	}
	return rec, nil
}

// touch moves the expiry of the session id, live as rec at its version, to
// expires, in the background: the view does not wait for it. The write is
// conditional on that version, so that it cannot bring back a session that
// another instance ended or changed meanwhile (a later view slides it
// then), and it must land before the session would have ended, so that a
// late write cannot revive it either.
func (m *Manager) touch(ctx context.Context, id string, rec Record, expires, now time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(m.cfg.Timeout, rec.Expires.Sub(now)))
	m.touches.Go(func() {
		defer cancel()
		_, err := m.store.Apply(ctx, id, Change{IfVersion: rec.Version, Expires: expires})
		if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
			m.cfg.Logger.Log(ctx, slog.LevelWarn, "sessions: store failed", slog.String("op", "slide"), slog.String("code", code(err).String()), slog.Any("err", err))
		}
	})
}

// create stores a new session, with a new id and the values OnCreate sets,
// into s; with Config.Lazy, it only prepares one, to be stored if the
// handler changes it.
func (m *Manager) create(ctx context.Context, r *http.Request, s *Session) error {
	now := storeTime(m.now())
	s.isNew = true
	s.rec = Record{Views: 1, Created: now, Deadline: now.Add(m.cfg.Lifetime.Max), BrowserSession: m.cfg.Lifetime.BrowserSession}
	if m.cfg.Lazy {
		s.rec.Views = 0 // counted from the request that stores it
	}
	s.views = s.rec.Views
	s.rec.Expires = m.expiry(now, 0, s.rec.Deadline)
	if m.cfg.OnCreate != nil {
		if err := m.cfg.OnCreate(r, s); err != nil {
			return fmt.Errorf("sessions: OnCreate: %w", err)
		}
	}
	s.set, s.deleted = nil, nil // stored with the record
	if m.cfg.Lazy {
		s.pending = true // OnCreate's values alone do not store it
		return nil
	}
	// A version 4 UUID has 122 random bits: a collision is not expected in
	// the life of the universe, but a second try costs nothing to write.
	var err error
	for range 2 {
		s.id = newID()
		if err = m.store.Create(ctx, s.id, s.rec); !errors.Is(err, ErrExists) {
			break
		}
	}
	if err != nil {
		s.id = ""
		return wrap("create", err)
	}
	return nil
}

// storeVisit is the one store call behind a batch of views.
func (m *Manager) storeVisit(ctx context.Context, id string, views int64) (Record, error) {
	rec, err := m.store.Visit(ctx, id, views)
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = wrap("visit", err)
	}
	return rec, err
}

// saveEarly saves the changes that the handler of r made to s before its
// response started, and logs a failure.
func (m *Manager) saveEarly(r *http.Request, s *Session) error {
	err := m.save(r.Context(), s, false)
	if err != nil {
		m.logFailure(r, "save", err)
	}
	return err
}

// save stores the changes made to s since the last save, and ends s when
// end is set. It runs even when the client has gone away, so no change is
// lost to a disconnect, but within the store timeout.
func (m *Manager) save(ctx context.Context, s *Session, end bool) error {
	c, ok := s.takeChanges(end)
	if !ok {
		return nil
	}
	ctx, cancel := m.storeContext(context.WithoutCancel(ctx))
	defer cancel()
	var err error
	if c.create {
		err = m.store.Create(ctx, c.id, c.rec)
	} else {
		_, err = m.store.Apply(ctx, c.id, c.Change)
	}
	if err != nil {
		return wrap("save", err)
	}
	return nil
}

// storeContext bounds a store call by the configured timeout.
func (m *Manager) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, m.cfg.Timeout)
}

// fail logs a store failure and, while the response has not started,
// answers it with the error handler.
func (m *Manager) fail(w *responseWriter, r *http.Request, op string, err error) {
	m.logFailure(r, op, err)
	if !w.wroteHeader() {
		m.cfg.ErrorHandler(w, r, err)
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
		slog.String("code", code(err).String()),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Any("err", err))
}

// code returns the gRPC code that describes err.
func code(err error) codes.Code {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return status.Code(err)
}
