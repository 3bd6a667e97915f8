package sessions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Renew moves the session to a new random id, with its stored data and
// this request's changes, deletes the record under the old id and sends the
// new cookie. Call it when the visitor's privileges change, so that an id
// that was known before (fixation) is worth nothing after; at sign-in,
// [Session.Login] does it together with the owner and lifetime.
//
// The move is atomic and takes the session as stored at that moment:
// views and saves of concurrent requests are moved too, or, if one comes
// between, the session is read again and moved as it then is. Renew must
// come before the response headers are written ([ErrHeadersWritten]); on
// error the session is left as it was, under its old id. It may be called
// from any of the handler's goroutines: the new cookie is set when the
// headers are sent. If another goroutine sends them while Renew runs, the
// old id is gone but the new cookie cannot follow: Renew returns
// ErrHeadersWritten, and the visitor's next request starts a new session.
func (s *Session) Renew(ctx context.Context) error {
	return s.renew(ctx, "renew", nil)
}

// Login is what to call when a visitor signs in: it renews the session
// (see [Session.Renew]), binds it to owner (see [Session.SetOwner]) and
// gives it lifetime l (see [Session.SetLifetime]; the zero Lifetime is the
// Manager's), all in one store write. Like Renew, it must come before the
// response headers are written.
func (s *Session) Login(ctx context.Context, owner string, l Lifetime) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if err := l.check(); err != nil {
		return err
	}
	if err := s.mgr.capOwnerSessions(ctx, s, owner); err != nil {
		return err
	}
	return s.renew(ctx, "login", func() Change {
		c := s.lifetimeChange(l)
		c.Owner = &owner
		return c
	})
}

// renew moves the session to a new id with the change that with returns,
// if any; see Renew.
func (s *Session) renew(ctx context.Context, op string, with func() Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	if s.w.wroteHeader() {
		return ErrHeadersWritten
	}
	if s.pending { // not stored: a new id is all it takes
		old, rec := s.id, s.rec
		if with != nil {
			c := with()
			c.applyTo(&s.rec)
		}
		s.id = ""
		if err := s.materialize(); err != nil {
			s.id, s.rec = old, rec
			return err
		}
		return nil
	}
	if !s.rec.live(s.mgr.now()) {
		return fmt.Errorf("sessions: %s: %w: the session ended", op, ErrInactive)
	}
	ctx, cancel := s.mgr.storeContext(ctx)
	defer cancel()
	release, err := s.mgr.turns.take(ctx, s.id)
	if err != nil {
		return fmt.Errorf("sessions: %s: waiting for the session's other changes: %w", op, err)
	}
	defer release()
	newID := newID()
	var rec Record
	for try := 0; ; try++ {
		if s.rec.Version == "" {
			if err := s.reload(ctx); err != nil {
				return wrap(op, err)
			}
		}
		rec = s.rec
		rec.Values = copyValues(s.rec.Values)
		if with != nil {
			c := with()
			c.applyTo(&rec)
		}
		if err := sizeOf(s.collection(), &rec).check(); err != nil {
			return err
		}
		err := s.mgr.store.Rename(ctx, s.id, newID, rec)
		switch {
		case err == nil:
		case !errors.Is(err, ErrConflict):
			return wrap(op, err)
		case try+1 == maxTries:
			return fmt.Errorf("sessions: %s: the session kept changing (%d tries): %w", op, maxTries, err)
		default:
			s.rec.Version = "" // read it again
			if err := pause(ctx, try); err != nil {
				return fmt.Errorf("sessions: %s: %w", op, err)
			}
			continue
		}
		break
	}
	s.id, s.rec, s.sized = newID, rec, false
	s.rec.Version = ""          // the new document's version is not known here
	s.set, s.deleted = nil, nil // the new record holds them already
	if !s.w.stage(s.cookieStage()) {
		// Another of the handler's goroutines sent the headers meanwhile:
		// the old id is deleted, and the visitor gets a new session.
		return ErrHeadersWritten
	}
	return nil
}

// Destroy deletes the session from the store and expires its cookie: the
// visitor's next request starts a new session. Call it at logout.
//
// When the response headers are already written, the record is still
// deleted, and Destroy returns [ErrHeadersWritten] because the cookie could
// not be expired.
func (s *Session) Destroy(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == destroyed {
		return nil
	}
	if err := s.changeable(); err != nil {
		return err
	}
	if !s.pending {
		ctx, cancel := s.mgr.storeContext(ctx)
		defer cancel()
		if err := s.mgr.store.Delete(ctx, s.id); err != nil {
			return wrap("destroy", err)
		}
	}
	s.state = destroyed
	s.set, s.deleted = nil, nil
	s.rec.Values = nil
	if !s.w.stage(s.mgr.expireCookie) {
		return ErrHeadersWritten
	}
	return nil
}

// capOwnerSessions makes room for one more session of owner, the session s
// about to log in, within Config.MaxOwnerSessions: it ends the owner's
// least recently used sessions, or refuses with ErrTooManySessions.
func (m *Manager) capOwnerSessions(ctx context.Context, s *Session, owner string) error {
	if m.cfg.MaxOwnerSessions <= 0 || owner == "" {
		return nil
	}
	if m.owners == nil {
		return fmt.Errorf("sessions: login: Config.MaxOwnerSessions needs a store that lists sessions by owner: %w", ErrNoOwnerIndex)
	}
	owned, err := m.OwnerSessions(ctx, owner)
	if err != nil {
		return err
	}
	delete(owned, s.Handle())
	extra := len(owned) + 1 - m.cfg.MaxOwnerSessions
	if extra <= 0 {
		return nil
	}
	if m.cfg.RefuseExtraLogins {
		return fmt.Errorf("%w: %d of %d", ErrTooManySessions, len(owned), m.cfg.MaxOwnerSessions)
	}
	// Least recently used first: the expiry moves with use.
	handles := slices.SortedFunc(maps.Keys(owned), func(a, b string) int { return owned[a].Expires.Compare(owned[b].Expires) })[:extra]
	_, err = m.DestroyOwnerSessions(ctx, owner, handles...)
	return err
}
