package sessions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Renew moves the session to a new random id, with its stored data and
// this request's changes, ends the old id and sends the new cookie. Call
// it when the visitor's privileges change, so that an id that was known
// before (fixation) is worth nothing after; at sign-in, [Session.Login]
// does it together with the owner and lifetime.
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
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebind(ctx, move{op: "rename", rename: true})
}

// Login is what to call when a visitor signs in: it renews the session
// (see [Session.Renew]), binds it to owner (see [Session.SetOwner]) and
// gives it lifetime l (see [Session.SetLifetime]; the zero Lifetime is the
// Manager's), all in one atomic store write, together with the owner's
// list of sessions and Config.MaxOwnerSessions: two round trips (one read
// of the owner's list, one write), three when the owner is at the cap
// (its sessions are read, to end the least recently used). Like Renew,
// it must come before the response headers are written.
func (s *Session) Login(ctx context.Context, owner string, l Lifetime) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if err := l.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebind(ctx, move{op: "rename", rename: true, owner: &owner, life: &l})
}

// A move changes a stored session's id, owner or lifetime, together with
// the owners' lists of sessions that it changes.
type move struct {
	op     string
	rename bool          // to a new id
	grace  time.Duration // rotation: how long the old id still works
	owner  *string       // the new owner; nil: unchanged
	life   *Lifetime     // the new lifetime; nil: unchanged
}

// rebind makes mv of the session, retrying while other changes come
// between; s.mu must be held. A lazy session that is not stored yet is
// stored with it, so that its owner's cap is decided now.
func (s *Session) rebind(ctx context.Context, mv move) error {
	if err := s.changeable(); err != nil {
		return err
	}
	if (mv.rename || mv.life != nil) && s.w.wroteHeader() {
		return ErrHeadersWritten
	}
	m := s.mgr
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	if s.pending {
		return s.storeWith(ctx, mv)
	}
	release, err := m.turns.take(ctx, s.key)
	if err != nil {
		return fmt.Errorf("%w: %s: waiting for the session's other changes: %w", ErrUnavailable, mv.op, err)
	}
	defer release()
	s.settle()
	newID := ""
	if mv.rename {
		newID = newIDFunc()
	}
	for try := 0; ; try++ {
		if s.rec.Version == "" {
			if err := s.reload(ctx); err != nil {
				return err
			}
		}
		now := storeTime(m.now())
		if !s.rec.live(now) {
			return fmt.Errorf("%w: the session ended", ErrInactive)
		}
		target := ""
		if mv.rename {
			target = Handle(newID)
		}
		rec, err := m.commitMove(ctx, s.key, s.rec, target, mv, now)
		if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			rec, err = m.resolveMove(ctx, s.key, s.rec, target, mv, now)
			if err == nil && !rec.live(m.now()) {
				// Read after a lost answer: something ended the session
				// meanwhile.
				err = errEnded
			}
		}
		switch {
		case err == nil:
			if mv.rename {
				s.id, s.key = newID, target
				s.set, s.deleted = nil, nil // the new record holds them already
				s.rec, s.sized = rec, false
				if !s.w.stage(s.cookieStage()) {
					// Another of the handler's goroutines sent the headers
					// meanwhile: the old id is gone, and the visitor gets a
					// new session.
					return ErrHeadersWritten
				}
				return nil
			}
			s.took(rec)
			return nil
		case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound), errors.Is(err, ErrExists):
			// Something changed the session or an owner's list meanwhile:
			// read it again and try on what is stored.
		default:
			return wrap(mv.op, err)
		}
		if try+1 == maxTries {
			return fmt.Errorf("%w: %s: the session kept changing (%d tries): %w", ErrConflict, mv.op, maxTries, err)
		}
		s.rec.Version = ""
		if err := pause(ctx, try); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, mv.op, err)
		}
	}
}

// newIDFunc makes the ids of renewed sessions; tests replace it.
var newIDFunc = newID

// commitMove makes one try of mv for the session stored under key as rec,
// at now, in one store write: the session under its new key (target, or
// key itself when target is ""), what is left under key, and the owners'
// lists it changes, read first. It returns the record now stored under the
// session's key.
func (m *Manager) commitMove(ctx context.Context, key string, rec Record, target string, mv move, now time.Time) (Record, error) {
	if rec.Version == "" {
		// A move without a condition could undo what came between: read
		// the session first.
		return Record{}, fmt.Errorf("%w: the session's version is not known", ErrConflict)
	}
	next := rec
	next.Values = maps.Clone(rec.Values)
	next.Version = ""
	if mv.life != nil {
		next.Attrs = m.withLifetime(next.Attrs, *mv.life, now)
	}
	if mv.owner != nil {
		next.Owner = *mv.owner
	}
	var ms []Mutation
	if target != "" {
		next.Renewed = now
		next.Expires = m.expiry(now, next.Idle, next.Deadline)
		if err := sizeOf(&next).check(); err != nil {
			return Record{}, err
		}
		ms = append(ms, createMutation(target, next),
			Mutation{Key: key, IfVersion: rec.Version, Delete: true},
			// What the old id leads to: the new key, for the requests of
			// a rotation's grace period, and for a Destroy that loaded
			// the session before the move. It holds no value.
			Mutation{Key: key, Create: true, Attrs: &Attrs{Created: rec.Created, Renewed: now, Expires: now.Add(mv.grace), Deadline: now.Add(mv.grace), MovedTo: target}})
	} else {
		if err := sizeOf(&next).check(); err != nil && len(next.Owner) > len(rec.Owner) {
			return Record{}, err
		}
		attrs := next.Attrs
		ms = append(ms, Mutation{Key: key, IfVersion: rec.Version, Attrs: &attrs})
	}
	final := key
	if target != "" {
		final = target
	}
	lists, err := m.listChanges(ctx, rec.Owner, next.Owner, key, final, next.Deadline, mv.owner != nil, now)
	if err != nil {
		return Record{}, err
	}
	res, err := m.commit(ctx, mv.op, append(ms, lists...)...)
	if err != nil {
		return Record{}, err
	}
	return res[0], nil
}

// resolveMove finds out whether a try of mv whose answer was lost was
// applied (see resolveChange): a move to a new key was, if the new key
// holds a record; a change in place was, if the session shows the new
// owner and lifetime.
func (m *Manager) resolveMove(ctx context.Context, key string, rec Record, target string, mv move, now time.Time) (Record, error) {
	if target != "" {
		applied, err := m.resolveCreate(ctx, target)
		if err != nil {
			return Record{}, err
		}
		if !applied {
			return Record{}, fmt.Errorf("%w: not applied", ErrConflict) // try again
		}
		return m.get(ctx, "resolve", target)
	}
	want := rec.Attrs
	if mv.life != nil {
		want = m.withLifetime(want, *mv.life, now)
	}
	if mv.owner != nil {
		want.Owner = *mv.owner
	}
	fresh, applied, err := m.resolveChange(ctx, key, rec.Version, func(r Record) bool {
		got := r.Attrs
		got.Expires = want.Expires
		return got == want
	})
	switch {
	case err != nil:
		return Record{}, err
	case !applied:
		return Record{}, fmt.Errorf("%w: not applied", ErrConflict) // try again
	}
	return fresh, nil
}

// Destroy ends the session: it deletes it from the store and expires its
// cookie, and the visitor's next request starts a new session. Call it at
// logout. A session that a concurrent request renewed meanwhile is
// followed to its new id and ended there too.
//
// When the response headers are already written, the session is still
// ended, and Destroy returns [ErrHeadersWritten] because the cookie could
// not be expired.
func (s *Session) Destroy(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == sessionDestroyed {
		return nil
	}
	if err := s.changeable(); err != nil {
		return err
	}
	if !s.pending {
		ctx, cancel := s.mgr.storeContext(ctx)
		defer cancel()
		release, err := s.mgr.turns.take(ctx, s.key)
		if err != nil {
			return fmt.Errorf("%w: destroy: waiting for the session's other changes: %w", ErrUnavailable, err)
		}
		defer release()
		s.settle()
		if err := s.mgr.destroy(ctx, s.key, s.rec); err != nil {
			return wrap("destroy", err)
		}
	}
	s.state = sessionDestroyed
	s.set, s.deleted = nil, nil
	s.rec.Values = nil
	if !s.w.stage(s.mgr.expireCookie) {
		return ErrHeadersWritten
	}
	return nil
}

// destroy deletes the session under key, known as rec, with its place in
// its owner's list: conditional on its version, so that a Renew that moved
// it meanwhile is seen, and followed.
func (m *Manager) destroy(ctx context.Context, key string, rec Record) error {
	for try := 0; ; try++ {
		var err error
		if rec.Version == "" {
			rec, err = m.get(ctx, "destroy", key)
			if errors.Is(err, ErrNotFound) {
				return nil // ended already
			}
			if err != nil {
				return err
			}
		}
		if rec.MovedTo != "" {
			// Moved meanwhile: end it where it went.
			key, rec = rec.MovedTo, Record{}
			continue
		}
		ms := []Mutation{{Key: key, IfVersion: rec.Version, Delete: true}}
		lists, err := m.listChanges(ctx, rec.Owner, "", key, "", time.Time{}, true, time.Time{})
		if err == nil {
			_, err = m.commit(ctx, "destroy", append(ms, lists...)...)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound), errors.Is(err, ErrExists), errors.Is(err, ErrUnavailable) && ctx.Err() == nil:
			// Changed meanwhile, or the answer was lost: read it again.
		default:
			return err
		}
		if try+1 == maxTries {
			return fmt.Errorf("%w: destroy: the session kept changing (%d tries): %w", ErrConflict, maxTries, err)
		}
		rec = Record{}
		if err := pause(ctx, try); err != nil {
			return fmt.Errorf("%w: destroy: %w", ErrUnavailable, err)
		}
	}
}

// storeWith stores the lazy session s, not stored yet, with mv made: now,
// rather than when the handler returns, so that an owner's cap is decided
// while the handler can still answer it; s.mu must be held.
func (s *Session) storeWith(ctx context.Context, mv move) error {
	m := s.mgr
	oldID, oldKey, oldRec := s.id, s.key, s.rec
	if mv.rename {
		s.id = ""
	}
	if err := s.materialize(); err != nil {
		s.id, s.key = oldID, oldKey
		return err
	}
	now := storeTime(m.now())
	if mv.life != nil {
		s.rec.Attrs = m.withLifetime(s.rec.Attrs, *mv.life, now)
	}
	if mv.owner != nil {
		s.rec.Owner = *mv.owner
	}
	if err := sizeOf(&s.rec).check(); err != nil {
		s.rec = oldRec
		return err
	}
	s.pending = false
	if err := m.store1(ctx, s); err != nil {
		s.pending, s.rec = true, oldRec
		return err
	}
	s.set, s.deleted = nil, nil // stored with the record
	return nil
}
