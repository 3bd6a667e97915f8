package sessions

import (
	"fmt"
	"net/http"
)

// adopt takes over, into the new session s, the session of another system
// that Config.Adopt finds for r, and reports whether there was one. The
// values are checked as Session.Set checks them; the owner is bound when
// the session is stored, with the new session's own write.
func (m *Manager) adopt(r *http.Request, s *Session) (bool, error) {
	if m.cfg.Adopt == nil {
		return false, nil
	}
	a, ok, err := m.cfg.Adopt(r)
	if err != nil {
		return false, fmt.Errorf("sessions: Adopt: %w", err)
	}
	if !ok {
		clearCookie(s, a.Clear) // a stale cookie of the other system, with nothing to adopt
		return false, nil
	}
	if err := checkOwner(a.Owner); err != nil {
		return false, fmt.Errorf("sessions: Adopt: %w", err)
	}
	for k, v := range a.Values {
		enc, err := encodeKeyed(k, v)
		if err != nil {
			return false, fmt.Errorf("sessions: Adopt: %w", err)
		}
		size, err := s.sizeWith(k, enc)
		if err != nil {
			return false, fmt.Errorf("sessions: Adopt: %w", err)
		}
		s.put(k, enc, size)
	}
	s.rec.Owner = a.Owner
	if a.Views > 0 {
		s.rec.Views = a.Views + 1
		s.views = s.rec.Views
	}
	clearCookie(s, a.Clear)
	return true, nil
}

// clearCookie expires, in the answer of s's request, the cookie that c
// names (its Name, Path and Domain), if any.
func clearCookie(s *Session, c *http.Cookie) {
	if c == nil {
		return
	}
	expired := *c
	expired.Value, expired.MaxAge = "", -1
	s.w.Header().Add("Set-Cookie", expired.String())
}
