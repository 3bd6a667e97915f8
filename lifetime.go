package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// A Lifetime is a session's expiry rule: Config.Lifetime for new
// sessions, and a session's own, in place of the Config's, by
// [Session.SetLifetime]: longer for a "remember me" sign-in, or a cookie
// that ends with the browser.
type Lifetime struct {
	// Idle ends the session when it is not used for this long, to the
	// second. 0: Config.Lifetime.Idle.
	Idle time.Duration
	// Max ends the session this long after its creation however often it
	// is used. 0: Config.Lifetime.Max.
	Max time.Duration
	// BrowserSession sends the cookie without Max-Age, so that the browser
	// drops it when it closes; the server still ends the session by Idle
	// and Max.
	BrowserSession bool
}

// SetLifetime gives the session its own lifetime, typically at login: a
// remember-me box chosen gets a longer Idle and Max, one left unticked a
// BrowserSession ([Session.Login] does this together with Renew and
// SetOwner). The store's expiry (Firestore's expiresAt, which TTL reads)
// and the cookie follow at once: the change is stored, conditional on the
// session being as this request last read it (a session that ended
// meanwhile is [ErrInactive], never brought back), and the cookie is sent
// again with the new Max-Age, so SetLifetime must come before the response
// headers are written ([ErrHeadersWritten]).
func (s *Session) SetLifetime(ctx context.Context, l Lifetime) error {
	if err := l.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rebind(ctx, move{op: "change", life: &l}); err != nil {
		return err
	}
	if !s.w.stage(s.cookieStage()) {
		return ErrHeadersWritten
	}
	return nil
}

// check reports whether l can be a session's lifetime.
func (l Lifetime) check() error {
	if l.Idle < 0 || l.Max < 0 || (l.Idle > 0 && l.Idle < time.Second) || (l.Max > 0 && l.Max < time.Second) {
		return fmt.Errorf("%w: its Idle and Max must be 0 (the Manager's) or at least one second", ErrInvalidLifetime)
	}
	return nil
}

// withLifetime returns the attributes a of a session with lifetime l from
// now on.
func (m *Manager) withLifetime(a Attrs, l Lifetime, now time.Time) Attrs {
	max := l.Max
	if max == 0 {
		max = m.cfg.Lifetime.Max
	}
	a.Idle, a.BrowserSession, a.Deadline = l.Idle.Truncate(time.Second), l.BrowserSession, a.Created.Add(max)
	a.Expires = m.expiry(now, a.Idle, a.Deadline)
	return a
}

// expiry returns when a session with its own idle timeout idle (0: the
// Manager's) and deadline ends if it was last used at now.
func (m *Manager) expiry(now time.Time, idle time.Duration, deadline time.Time) time.Time {
	if end := now.Add(m.idle(idle)); end.Before(deadline) {
		return end
	}
	return deadline
}

// idle returns a session's idle timeout: its own, or else the Manager's.
func (m *Manager) idle(own time.Duration) time.Duration {
	if own > 0 {
		return own
	}
	return m.cfg.Lifetime.Idle
}

// slideStep is the least move of a session's expiry that a view stores:
// a hundredth of its idle timeout, at most a minute. A session thus ends
// between its idle timeout less one step and its idle timeout after its
// last view, and a returning visitor's views are not each a second write.
func slideStep(idle time.Duration) time.Duration {
	return min(idle/100, time.Minute)
}

// slideTarget returns the expiry a view at now gives the live session
// rec, and whether storing it is due: it moves the expiry by a step at
// least.
func (m *Manager) slideTarget(rec *Record, now time.Time) (time.Time, bool) {
	next := m.expiry(now, rec.Idle, rec.Deadline)
	return next, next.Sub(rec.Expires) >= slideStep(m.idle(rec.Idle))
}

// lastMoments returns how long before its expiry a view of the session
// rec moves the expiry before the handler runs, rather than beside it:
// Config.Timeout, at most a quarter of the idle timeout. A write that
// takes longer than that could land after the session ended.
func (m *Manager) lastMoments(rec *Record) time.Duration {
	return min(m.cfg.Timeout, m.idle(rec.Idle)/4)
}

// errEnded reports that a change or a slide found the session ended (by
// another request, or its time) instead of changing it.
var errEnded = fmt.Errorf("%w: the session ended meanwhile", ErrInactive)

// slide moves the expiry of the session under key, found live as rec by a
// view at now, to its idle timeout after now, and returns the record
// after it. The write is conditional on the version the view saw: a
// write that came between (the request's own save, a view elsewhere) makes
// it read the session again and try again on what is stored, unless that
// has moved far enough already or has ended (errEnded): so it cannot
// revive a session that something ended, and it is not lost either.
func (m *Manager) slide(ctx context.Context, key string, rec Record, now time.Time) (Record, error) {
	res, _, err := m.slideFrom(ctx, key, rec, now)
	return res, err
}

// slideFrom is slide, and also reports whether the record after it is rec
// with only its expiry moved: whether no other write came between.
func (m *Manager) slideFrom(ctx context.Context, key string, rec Record, now time.Time) (Record, bool, error) {
	alone := rec.Version != "" // a record of no known version is read first
	for try := 0; ; try++ {
		if rec.Version == "" {
			if try+1 >= maxTries {
				return Record{}, false, fmt.Errorf("%w: slide: the session kept changing (%d tries)", ErrConflict, maxTries)
			}
			fresh, err := m.get(ctx, "slide", key)
			switch {
			case errors.Is(err, ErrNotFound):
				return Record{}, false, errEnded
			case err != nil:
				return Record{}, false, err
			case !fresh.live(m.now()):
				m.fence(ctx, key, fresh)
				return Record{}, false, errEnded
			}
			rec = fresh
		}
		target := m.expiry(now, rec.Idle, rec.Deadline)
		if target.Sub(rec.Expires) < slideStep(m.idle(rec.Idle)) {
			return rec, alone, nil // moved enough, by another view
		}
		attrs := rec.Attrs
		attrs.Expires = target
		res, err := m.commit(ctx, "slide", Mutation{Key: key, IfVersion: rec.Version, Attrs: &attrs})
		switch {
		case err == nil:
			return res[0], alone, nil
		case errors.Is(err, ErrConflict), errors.Is(err, ErrUnavailable) && !errors.Is(err, context.Canceled) && ctx.Err() == nil:
			// Changed meanwhile, or the answer was lost: read what is
			// stored, and try again on it.
		case errors.Is(err, ErrNotFound):
			return Record{}, false, errEnded
		default:
			return Record{}, false, err
		}
		rec.Version, alone = "", false
		if err := pause(ctx, try); err != nil {
			return Record{}, false, fmt.Errorf("%w: slide: %w", ErrUnavailable, err)
		}
	}
}

// A sliding is a slide under way beside the request that started it.
type sliding struct {
	done  chan struct{} // closed when it is over
	rec   Record        // the record after it, when err is nil
	alone bool          // rec is the record the view saw, but for its expiry
	err   error
}

// startSlide starts the slide of the session under key, found live as rec
// by a view at now, beside the request. The request waits for it before
// it ends (see Session.settle), and Shutdown waits for it too.
func (m *Manager) startSlide(ctx context.Context, key string, rec Record, now time.Time) *sliding {
	sl := &sliding{done: make(chan struct{})}
	ctx, cancel := m.storeContext(context.WithoutCancel(ctx))
	m.pending.Go(func() {
		defer cancel()
		defer close(sl.done)
		sl.rec, sl.alone, sl.err = m.slideFrom(ctx, key, rec, now)
		if sl.err != nil && !errors.Is(sl.err, errEnded) {
			m.cfg.Logger.Log(ctx, slog.LevelWarn, "sessions: store failed", slog.String("op", "slide"), slog.String("error_type", errorClass(sl.err)), slog.Any("err", sl.err))
		}
	})
	return sl
}
