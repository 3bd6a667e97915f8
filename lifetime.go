package sessions

import (
	"context"
	"errors"
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
// and the cookie follow at once: the change is stored, and the cookie is
// sent again with the new Max-Age, so SetLifetime must come before the
// response headers are written ([ErrHeadersWritten]).
func (s *Session) SetLifetime(ctx context.Context, l Lifetime) error {
	if err := l.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	if s.w.wroteHeader() {
		return ErrHeadersWritten
	}
	if err := s.apply(ctx, "set lifetime", s.lifetimeChange(l)); err != nil {
		return err
	}
	if !s.w.stage(s.cookieStage()) { // apply gave a lazy session its id
		return ErrHeadersWritten
	}
	return nil
}

// check reports whether l can be a session's lifetime.
func (l Lifetime) check() error {
	if l.Idle < 0 || l.Max < 0 || (l.Idle > 0 && l.Idle < time.Second) || (l.Max > 0 && l.Max < time.Second) {
		return errors.New("sessions: a Lifetime's Idle and Max must be 0 (the Manager's) or at least one second")
	}
	return nil
}

// lifetimeChange returns the change that gives the session lifetime l from
// now on; s.mu must be held.
func (s *Session) lifetimeChange(l Lifetime) Change {
	max := l.Max
	if max == 0 {
		max = s.mgr.cfg.Lifetime.Max
	}
	c := Change{SetLifetime: true, Idle: l.Idle.Truncate(time.Second), BrowserSession: l.BrowserSession, Deadline: s.rec.Created.Add(max)}
	c.Expires = s.mgr.expiry(storeTime(s.mgr.now()), c.Idle, c.Deadline)
	return c
}

// expiry returns when a session with its own idle timeout idle (0: the
// Manager's) and deadline ends if it was last used at now.
func (m *Manager) expiry(now time.Time, idle time.Duration, deadline time.Time) time.Time {
	if end := now.Add(m.idle(idle)); end.Before(deadline) {
		return end
	}
	return deadline
}

// slide returns the expiry a view at now gives the live session rec, and
// whether storing it is due: the expiry moves only when that moves it by
// at least slideStep of its idle timeout, so that a returning visitor's
// views are not each a second write. A session thus ends between its idle
// timeout less one step and its idle timeout after its last view.
func (m *Manager) slide(rec *Record, now time.Time) (time.Time, bool) {
	next := m.expiry(now, rec.Idle, rec.Deadline)
	return next, next.Sub(rec.Expires) >= slideStep(m.idle(rec.Idle))
}

// idle returns a session's idle timeout: its own, or else the Manager's.
func (m *Manager) idle(own time.Duration) time.Duration {
	if own > 0 {
		return own
	}
	return m.cfg.Lifetime.Idle
}

// slideStep is the least move of a session's expiry that a view stores:
// a hundredth of its idle timeout, at most a minute.
func slideStep(idle time.Duration) time.Duration {
	return min(idle/100, time.Minute)
}
