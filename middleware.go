package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Middleware returns next wrapped in session handling; its signature makes
// it an alice.Constructor: alice.New(m.Middleware).Then(h).
//
// For each request, before next runs, it reads the session id from the
// cookie, then in one store write loads the session and counts this view
// (on an [Uncounted] route: one read, no view); a request with no valid
// cookie, or whose session is unknown or has ended, gets a new session
// with a new server-chosen id. It puts the session into the request
// context ([FromContext]) and the cookie into the response headers, so
// the cookie is sent even when next flushes or streams. When the store
// fails or times out, next is not called and Config.ErrorHandler answers
// (503 by default) with an error wrapping [ErrUnavailable]. After a few
// store calls in a row found the store unreachable or too slow, calls fail
// fast: the ErrorHandler answers at once, while one call every half second
// probes the store, until it answers again.
//
// It saves the values next changed, and only those: before the response
// headers go, so that a failed save is answered by Config.ErrorHandler
// instead of next's response, and what next changed after that when it
// returns. When the view moved the session's expiry (once its idle
// timeout's hundredth, or a minute when that is shorter, has passed since
// the last move), the request ends once that write is done too.
//
// Every request through the middleware is a view of a session, HEAD and
// /favicon.ico included, unless its route is Uncounted: wrap pages with
// Middleware, and assets, API calls and polling with
// m.With(Uncounted()).Middleware, or leave them outside.
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
		s, err := m.load(r, rw)
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
		s.mu.Lock()
		s.settle() // the request ends when its slide is done
		s.mu.Unlock()
	})
}

// load resolves the request's session, counting this view, and sets its
// cookie on w.
func (m *Manager) load(r *http.Request, w *responseWriter) (*Session, error) {
	ctx, cancel := m.storeContext(r.Context())
	defer cancel()
	s := &Session{mgr: m, w: w}
	if id, ok := m.readID(r); ok {
		vis, n, err := m.open(ctx, Handle(id))
		switch {
		case err == nil:
			s.id, s.key, s.rec, s.views, s.slide = id, vis.key, vis.rec, n, vis.slide
			if vis.newID != "" {
				s.id = vis.newID
				m.setCookie(w.Header(), s.id, s.rec) // a rotation's new id
			}
		case errors.Is(err, ErrNotFound):
			s.prevEnd = vis.ended
		default:
			return nil, err
		}
	}
	if s.key == "" {
		if err := m.create(ctx, r, s); err != nil {
			return nil, err
		}
	}
	m.private(w.Header())
	if s.pending {
		return s, nil // no cookie until the handler changes the session
	}
	// The cookie lives until the session's absolute deadline (the server
	// ends it earlier when it is idle), so it needs sending only when it
	// changes: here for a new session, and at Renew and Destroy. A request
	// that read the session before a Renew elsewhere thus never sends the
	// old id back.
	if s.isNew {
		m.setCookie(w.Header(), s.id, s.rec)
	}
	return s, nil
}

// open resolves the session under key for a request, counting its view
// unless its route is Uncounted, and returns the visit and the request's
// view number. A session that has ended is ErrNotFound.
func (m *Manager) open(ctx context.Context, key string) (visited, int64, error) {
	if m.cfg.uncounted {
		vis, err := m.visit(ctx, key, 0)
		return vis, vis.n, err
	}
	return m.visits.do(ctx, key)
}

// create stores a new session, with a new id, the values OnCreate sets and
// what Config.Adopt brings, into s; with Config.Lazy, it only prepares
// one, to be stored if the handler changes it.
func (m *Manager) create(ctx context.Context, r *http.Request, s *Session) error {
	now := storeTime(m.now())
	s.isNew = true
	s.rec = Record{Views: 1, Attrs: Attrs{Created: now, Renewed: now, Deadline: now.Add(m.cfg.Lifetime.Max), BrowserSession: m.cfg.Lifetime.BrowserSession}}
	s.rec.Expires = m.expiry(now, 0, s.rec.Deadline)
	if m.cfg.Lazy {
		s.rec.Views = 0 // counted from the request that stores it
	}
	s.views = s.rec.Views
	if m.cfg.OnCreate != nil {
		if err := m.cfg.OnCreate(r, s); err != nil {
			return fmt.Errorf("sessions: OnCreate: %w", err)
		}
	}
	adopted, err := m.adopt(r, s)
	if err != nil {
		return err
	}
	s.set, s.deleted = nil, nil // stored with the record
	if adopted && s.rec.Views == 0 {
		s.rec.Views, s.views = 1, 1 // a lazy session adopted: stored now
	}
	if m.cfg.Lazy && !adopted {
		s.pending = true // OnCreate's values alone do not store it
		return nil
	}
	s.pending = false
	if s.id == "" {
		s.id = newID()
	}
	s.key = Handle(s.id)
	return m.store1(ctx, s)
}

// store1 stores the new session s, with its owner's list when it has one,
// in one store write.
func (m *Manager) store1(ctx context.Context, s *Session) error {
	for try := 0; ; try++ {
		lists, err := m.listChanges(ctx, "", s.rec.Owner, "", s.key, s.rec.Deadline, true, storeTime(m.now()))
		if err != nil {
			return wrap("create", err)
		}
		res, err := m.commit(ctx, "create", append([]Mutation{createMutation(s.key, s.rec)}, lists...)...)
		if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			// The answer was lost: the new key holds a record only if it
			// was stored.
			applied, rerr := m.resolveCreate(ctx, s.key)
			switch {
			case rerr != nil:
				err = rerr
			case applied:
				s.rec.Version = "" // read it before a conditional change
				res, err = nil, nil
			}
		}
		switch {
		case err == nil:
			m.tel.created.Add(ctx, 1)
			m.tel.views.Add(ctx, s.rec.Views)
			if res != nil {
				s.took(res[0])
			}
			return nil
		case len(lists) == 0 || !errors.Is(err, ErrConflict) && !errors.Is(err, ErrExists) && !errors.Is(err, ErrNotFound):
			return wrap("create", err)
		case try+1 == maxTries:
			return fmt.Errorf("%w: create: the owner's sessions kept changing (%d tries): %w", ErrConflict, maxTries, err)
		}
		// The owner's list changed meanwhile: read it again.
		if err := pause(ctx, try); err != nil {
			return fmt.Errorf("%w: create: %w", ErrUnavailable, err)
		}
	}
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
	ctx, cancel := m.storeContext(context.WithoutCancel(ctx))
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.takeChanges(end)
	if !ok {
		return nil
	}
	if c.Create {
		return m.store1(ctx, s)
	}
	s.settle()
	for hop := 0; ; hop++ {
		res, err := m.commit(ctx, "save", c.Mutation)
		if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			// The answer was lost: sent again only if the session did not
			// change at all since; done if the session shows the change.
			var fresh Record
			var applied bool
			fresh, applied, err = m.resolveChange(ctx, c.Key, c.before, c.shown)
			if err == nil && !applied {
				res, err = m.commit(ctx, "save", c.Mutation)
			} else if err == nil {
				res = []Record{fresh}
			}
		}
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: save: the session ended meanwhile: %w", ErrInactive, err)
		}
		if err != nil {
			return wrap("save", err)
		}
		after := res[0]
		switch {
		case after.Ended != "":
			return fmt.Errorf("%w: save: the session ended meanwhile", ErrInactive)
		case after.MovedTo != "" && after.Version == "":
			// Read after the write: the save may have landed on the
			// session before a move carried it along, or on what the move
			// left behind. Done if the session shows it where it went;
			// otherwise it is not sent again (it could bring back a value
			// that another request took since).
			moved, err := m.get(ctx, "resolve", after.MovedTo)
			if err != nil || !c.shown(moved) {
				return wrap("save", errUnknownOutcome)
			}
			s.key = after.MovedTo
			s.took(moved)
			return nil
		case after.MovedTo != "" && hop == 0:
			// A Renew or rotation moved the session while this request
			// ran, and the save landed on what it left behind: the change
			// goes where the session went.
			s.key, c.Key, c.before = after.MovedTo, after.MovedTo, ""
			continue
		case after.MovedTo != "":
			return fmt.Errorf("%w: save: the session moved meanwhile", ErrInactive)
		}
		s.took(after)
		return nil
	}
}

// shown reports whether rec shows the values that c sets and unsets.
func (c pendingSave) shown(rec Record) bool {
	for k, v := range c.Set {
		if got, ok := rec.Values[k]; !ok || !equalValues(got, v) {
			return false
		}
	}
	for _, k := range c.Unset {
		if _, ok := rec.Values[k]; ok {
			return false
		}
	}
	return true
}

// fail logs a store failure and, while the response has not started,
// answers it with the error handler.
func (m *Manager) fail(w *responseWriter, r *http.Request, op string, err error) {
	m.logFailure(r, op, err)
	if !w.wroteHeader() {
		m.cfg.ErrorHandler(w, r, err)
	}
}
