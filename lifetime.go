package sessions

import (
	"context"
	"errors"
	"net/http"
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
// BrowserSession. The store's expiry (Firestore's expiresAt, which TTL
// reads) and the cookie follow at once: the change is stored, and the
// cookie is sent again with the new Max-Age, so SetLifetime must come
// before the response headers are written ([ErrHeadersWritten]).
func (s *Session) SetLifetime(ctx context.Context, l Lifetime) error {
	if l.Idle < 0 || l.Max < 0 || (l.Idle > 0 && l.Idle < time.Second) || (l.Max > 0 && l.Max < time.Second) {
		return errors.New("sessions: a Lifetime's Idle and Max must be 0 (the Manager's) or at least one second")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	if s.w.wroteHeader() {
		return ErrHeadersWritten
	}
	max := l.Max
	if max == 0 {
		max = s.mgr.cfg.Lifetime.Max
	}
	a := s.rec.attrs()
	a.Idle = l.Idle.Truncate(time.Second)
	a.BrowserSession = l.BrowserSession
	next := s.rec
	next.Idle, next.Deadline = a.Idle, s.rec.Created.Add(max)
	next.slide(storeTime(s.mgr.now()), s.mgr.cfg.Lifetime.Idle)
	a.Expires, a.Deadline = next.Expires, next.Deadline
	if err := s.setAttrs(ctx, "set lifetime", a); err != nil {
		return err
	}
	if !s.w.stage(s.cookieStage()) { // setAttrs gave a lazy session its id
		return ErrHeadersWritten
	}
	return nil
}

// cookieStage returns the header change that sends the session's cookie as
// it now is; s.mu must be held.
func (s *Session) cookieStage() func(http.Header) {
	id, rec := s.id, s.rec
	return func(h http.Header) { s.mgr.setCookie(h, id, rec) }
}
