package sessions

import (
	"context"
	"fmt"
	"maps"
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
	id      string // "" for a lazy session that has not been given one yet
	isNew   bool
	pending bool            // lazy and not stored yet: stored when the handler returns, if it changed
	rec     Record          // as read from the store, with this request's changes applied
	set     map[string]any  // keys set by this request, encoded
	deleted map[string]bool // keys deleted by this request
	size    docSize         // of the document with this request's changes, once sized
	sized   bool
	state   state
}

type state uint8

const (
	active    state = iota
	destroyed       // Destroy was called: nothing more is saved
	closed          // the handler returned: changes were saved
)

// ID returns the session id: the cookie's value, a random UUID chosen by the
// server. Treat it as a secret, like a password. A lazy session (see
// Config.Lazy) has no id, "", until it is first changed.
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
// of one session each get a number of their own. A lazy session counts from
// the request that stored it: before it is stored, Views is 0.
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

// Get returns the value stored under key, as the store keeps it: nil, a
// string, bool, int64, float64, time.Time or []byte, or for structs, maps
// and slices a map[string]any or []any of those (see [Session.Set]). The
// typed getters below check the type for you; [GetAs] reads any value back
// into the Go type it was stored from.
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
// A value can be anything Firestore stores, and is stored as Firestore
// fields that its console shows: a string, a bool, an integer (stored as
// int64; unsigned values above math.MaxInt64 are refused), a float (stored
// as float64), a time.Time (stored in UTC with microsecond precision, as
// Firestore keeps it), a []byte, nil, and structs (by their `firestore`
// tags, as the Firestore client stores them), maps with string keys,
// slices and arrays of these. Read them back with [GetAs]. Other types,
// such as channels, functions and arrays directly inside arrays, fail with
// [ErrUnsupportedType].
//
// Keys must be non-empty valid UTF-8 and not of the form __name__
// ([ErrInvalidKey]). A change that would take the session's document past
// one of Firestore's limits (see [MaxDocumentBytes]) fails with
// [ErrTooLarge], here rather than after the response, in every store.
//
// Changing a lazy session that is not stored yet gives it an id and its
// cookie; that must come before the response headers are written
// ([ErrHeadersWritten]).
func (s *Session) Set(key string, value any) error {
	if err := checkKey(key); err != nil {
		return err
	}
	v, err := encode(value)
	if err != nil {
		return fmt.Errorf("value %q: %w", truncate(key, 40), err)
	}
	if err := checkValue(key, v); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(key, v)
}

// put stores the encoded value v under key; s.mu must be held.
func (s *Session) put(key string, v any) error {
	if err := s.changeable(); err != nil {
		return err
	}
	size := s.docSize()
	if old, ok := s.rec.Values[key]; ok {
		size.add(key, old, -1)
	}
	size.add(key, v, 1)
	if err := size.check(); err != nil {
		return fmt.Errorf("value %q: %w", truncate(key, 40), err)
	}
	if err := s.materialize(); err != nil {
		return err
	}
	s.size = size
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
	_, err := s.remove(key)
	return err
}

// Pop returns the value under key, as Get does, and deletes it: the value
// is read once. It reports false when there is none.
func (s *Session) Pop(key string) (any, bool) {
	if checkKey(key) != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.rec.Values[key]
	if !ok {
		return nil, false
	}
	if _, err := s.remove(key); err != nil {
		return nil, false
	}
	return v, true
}

// Clear deletes every value of the session, to be saved when the handler
// returns. The session itself, its id and its view count stay: Destroy
// ends it.
func (s *Session) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.rec.Values {
		if _, err := s.remove(k); err != nil {
			return err
		}
	}
	return nil
}

// FlashKey is the key under which AddFlash keeps a session's flash
// messages.
const FlashKey = "flashes"

// AddFlash adds a message to show on a later page, typically the one a
// form's POST redirects to. Messages are kept in order under [FlashKey]
// until Flashes reads them.
func (s *Session) AddFlash(msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, _ := s.rec.Values[FlashKey].([]any)
	return s.put(FlashKey, append(slices.Clone(old), any(msg)))
}

// Flashes returns the flash messages added so far and deletes them, so
// each is shown once. It returns nil when there are none.
func (s *Session) Flashes() []string {
	v, ok := s.Pop(FlashKey)
	if !ok {
		return nil
	}
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if m, ok := x.(string); ok {
			out = append(out, m)
		}
	}
	return out
}

// remove deletes key from the session's values; s.mu must be held. It
// reports whether the key held a value.
func (s *Session) remove(key string) (bool, error) {
	if err := s.changeable(); err != nil {
		return false, err
	}
	old, had := s.rec.Values[key]
	if had && s.sized {
		s.size.add(key, old, -1)
	}
	delete(s.rec.Values, key)
	delete(s.set, key)
	if !s.pending { // a session not stored yet has nothing to delete
		if s.deleted == nil {
			s.deleted = make(map[string]bool)
		}
		s.deleted[key] = true
	}
	return had, nil
}

// docSize returns the size of the session's document with this request's
// changes, computing it the first time; s.mu must be held.
func (s *Session) docSize() docSize {
	if !s.sized {
		s.size, s.sized = sizeOf(s.collection(), &s.rec), true
	}
	return s.size
}

// collection returns the collection of the session's document.
func (s *Session) collection() string {
	if s.mgr == nil {
		return DefaultCollection // a Session made by a test
	}
	return s.mgr.collection
}

// materialize gives a lazy session that is not stored yet its id and its
// cookie, so that it is stored when the handler returns; s.mu must be held.
func (s *Session) materialize() error {
	if !s.pending || s.id != "" {
		return nil
	}
	s.id = newID()
	if !s.w.stage(s.cookieStage()) {
		s.id = ""
		return ErrHeadersWritten
	}
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
	if s.pending { // not stored: a new id is all it takes
		old := s.id
		s.id = ""
		if err := s.materialize(); err != nil {
			s.id = old
			return err
		}
		return nil
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

// changeable reports whether s may still change; s.mu must be held.
func (s *Session) changeable() error {
	if s.state != active {
		return ErrInactive
	}
	return nil
}

// A change is what a request must save of its session when the handler
// returns.
type change struct {
	id     string
	create bool   // a lazy session stored for the first time: rec is all of it
	rec    Record // when create
	set    map[string]any
	del    []string
}

// close ends the session's request and returns what must be saved; ok is
// false when nothing must.
func (s *Session) close() (c change, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != active {
		return c, false
	}
	s.state = closed
	if s.pending {
		if s.id == "" {
			return c, false // never changed: never stored
		}
		rec := s.rec
		rec.Views = 1
		return change{id: s.id, create: true, rec: rec}, true
	}
	if len(s.set) == 0 && len(s.deleted) == 0 {
		return c, false
	}
	c = change{id: s.id, set: s.set}
	if len(s.deleted) > 0 {
		c.del = slices.Sorted(maps.Keys(s.deleted))
	}
	return c, true
}
