package sessions

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// A Session is one visitor's server-side session during one request. The
// middleware resolves it before the handler runs; handlers get it with
// [FromContext].
//
// Reads see the session as stored when the request began, plus this
// request's own changes. Changes (Set, Delete) are saved when the handler
// returns, as field-level updates of only the changed keys, so concurrent
// requests that change different keys do not overwrite each other.
//
// A Session is safe for use by the handler's goroutines until the handler
// returns; after that, changes fail with [ErrInactive].
type Session struct {
	mgr *Manager
	w   *responseWriter

	mu      sync.Mutex
	id      string
	isNew   bool
	rec     Record          // as read from the store, with this request's changes applied
	set     map[string]any  // keys set by this request
	deleted map[string]bool // keys deleted by this request
	state   state
}

type state uint8

const (
	active    state = iota
	destroyed       // Destroy was called: nothing more is saved
	closed          // the handler returned: changes were saved
)

// ID returns the session id: the cookie's value, a random UUID chosen by the
// server. Treat it as a secret, like a password.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// IsNew reports whether the session was created by this request.
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isNew
}

// Views returns this request's view number: 1 for the request that created
// the session, and one more for each request after it. Concurrent requests
// of one session each get a number of their own.
func (s *Session) Views() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Views
}

// Created returns when the session was created.
func (s *Session) Created() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Created
}

// Expires returns when the session ends if it is not used again: the idle
// expiry, never later than the absolute deadline.
func (s *Session) Expires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Expires
}

// Deadline returns when the session ends however often it is used.
func (s *Session) Deadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Deadline
}

// Keys returns the keys of the session's values, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.rec.Values))
}

// Get returns the value stored under key. Its dynamic type is one of
// string, bool, int64, float64, time.Time and []byte; the typed getters
// below check it for you.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.rec.Values[key]
	return copyValue(v), ok
}

// GetString returns the string stored under key; ok is false when there is
// none or the value is of another type.
func (s *Session) GetString(key string) (v string, ok bool) { return get[string](s, key) }

// GetInt returns the integer stored under key; ok is false when there is
// none or the value is of another type.
func (s *Session) GetInt(key string) (v int64, ok bool) { return get[int64](s, key) }

// GetFloat returns the float stored under key; ok is false when there is
// none or the value is of another type.
func (s *Session) GetFloat(key string) (v float64, ok bool) { return get[float64](s, key) }

// GetBool returns the boolean stored under key; ok is false when there is
// none or the value is of another type.
func (s *Session) GetBool(key string) (v bool, ok bool) { return get[bool](s, key) }

// GetTime returns the time stored under key; ok is false when there is
// none or the value is of another type.
func (s *Session) GetTime(key string) (v time.Time, ok bool) { return get[time.Time](s, key) }

// GetBytes returns a copy of the bytes stored under key; ok is false when
// there is none or the value is of another type.
func (s *Session) GetBytes(key string) (v []byte, ok bool) {
	b, ok := get[[]byte](s, key)
	return append([]byte(nil), b...), ok
}

func get[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.rec.Values[key].(T)
	return v, ok
}

// Set stores value under key, to be saved when the handler returns.
//
// A value must be a string, a bool, an integer (stored as int64; unsigned
// values above math.MaxInt64 are refused), a float (stored as float64), a
// time.Time (stored in UTC with microsecond precision, as Firestore keeps
// it) or a []byte. Other types fail with [ErrUnsupportedType]: encode them,
// as JSON for instance, into a string or []byte. Keys must be non-empty
// valid UTF-8 of at most 1,024 bytes and not of the form __name__
// ([ErrInvalidKey]).
func (s *Session) Set(key string, value any) error {
	if err := checkKey(key); err != nil {
		return err
	}
	v, err := normalize(value)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	if s.rec.Values == nil {
		s.rec.Values = make(map[string]any)
	}
	s.rec.Values[key] = v
	if s.set == nil {
		s.set = make(map[string]any)
	}
	s.set[key] = copyValue(v)
	delete(s.deleted, key)
	return nil
}

// Delete removes the value under key, to be saved when the handler returns.
// Deleting a missing key is not an error.
func (s *Session) Delete(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	delete(s.rec.Values, key)
	delete(s.set, key)
	if s.deleted == nil {
		s.deleted = make(map[string]bool)
	}
	s.deleted[key] = true
	return nil
}

// Renew moves the session to a new random id, with the same data and this
// request's changes, deletes the record under the old id and sends the new
// cookie. Call it when the visitor's privileges change, at login above all,
// so that an id that was known before (fixation) is worth nothing after.
//
// Renew must come before the response headers are written
// ([ErrHeadersWritten]); on error the session is left as it was. It may be
// called from any of the handler's goroutines: the new cookie is set when
// the headers are sent. If another goroutine sends them while Renew runs,
// the old id is gone but the new cookie cannot follow: Renew returns
// ErrHeadersWritten, and the visitor's next request starts a new session.
func (s *Session) Renew(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	if s.w.wroteHeader() {
		return ErrHeadersWritten
	}
	newID := newID()
	ctx, cancel := s.mgr.storeContext(ctx)
	defer cancel()
	rec := s.rec
	rec.Values = copyValues(s.rec.Values)
	if err := s.mgr.store.Rename(ctx, s.id, newID, rec); err != nil {
		return wrap("renew", err)
	}
	s.id = newID
	s.set, s.deleted = nil, nil // the new record holds them already
	if !s.w.stage(func(h http.Header) { s.mgr.setCookie(h, newID, rec.Deadline) }) {
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
	ctx, cancel := s.mgr.storeContext(ctx)
	defer cancel()
	if err := s.mgr.store.Delete(ctx, s.id); err != nil {
		return wrap("destroy", err)
	}
	s.state = destroyed
	s.set, s.deleted = nil, nil
	s.rec.Values = nil
	if !s.w.stage(s.mgr.expireCookie) {
		return ErrHeadersWritten
	}
	return nil
}

// changeable reports whether s may still change; s.mu must be held.
func (s *Session) changeable() error {
	if s.state != active {
		return ErrInactive
	}
	return nil
}

// close ends the session's request and returns what must be saved; ok is
// false when nothing must.
func (s *Session) close() (id string, set map[string]any, del []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != active {
		return "", nil, nil, false
	}
	s.state = closed
	if len(s.set) == 0 && len(s.deleted) == 0 {
		return "", nil, nil, false
	}
	if len(s.deleted) > 0 {
		del = slices.Sorted(maps.Keys(s.deleted))
	}
	return s.id, s.set, del, true
}
