package sessions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"
)

// A Session is one visitor's server-side session during one request. The
// middleware resolves it before the handler runs; handlers get it with
// [FromContext].
//
// Reads see the session as stored when the request began, plus this
// request's own changes. Set and Delete are saved as field-level
// updates of only the changed keys, so concurrent requests that change
// different keys do not overwrite each other: before the response headers
// go out (so that a failed save can still be answered with an error), and
// whatever changed after that when the handler returns. The atomic
// operations ([Session.Increment], [Modify], [Session.Pop],
// [Session.AddFlash]) are stored when they return and are exact however
// many requests change the same key at once, on any instance.
//
// A Session is safe for use by the handler's goroutines until the handler
// returns; after that, changes fail with [ErrInactive].
type Session struct {
	mgr *Manager
	w   *responseWriter

	mu      sync.Mutex
	id      string // the id the request came with, or its new one; "" for a lazy session not stored yet
	key     string // where the store keeps the session: Handle(id), or where a renewal of id moved it
	isNew   bool
	pending bool  // lazy and not stored yet: stored when the handler returns, if it changed
	views   int64 // this request's view number
	// rec is the session as stored at rec.Version (when known; "" makes
	// the next read-modify-write read it first), with this request's
	// unsaved changes (set, deleted) applied. Its Views is the stored
	// count, which may be past this request's number.
	rec     Record
	set     map[string]any  // keys set by this request and not saved yet, encoded
	deleted map[string]bool // keys deleted by this request and not saved yet
	size    docSize         // of the session with this request's changes, once sized
	sized   bool
	state   state
	slide   *sliding  // the move of the expiry that the view started, if any
	prevEnd EndReason // why the session the request came with ended
}

type state uint8

const (
	sessionActive    state = iota
	sessionDestroyed       // Destroy was called: nothing more is saved
	sessionClosed          // the handler returned: changes were saved
)

// ID returns the session id: the cookie's value, a random UUID chosen by the
// server. Treat it as a secret, like a password. A lazy session (see
// Config.Lazy) has no id, "", until it is first changed. During the grace
// period of a renewal (Config.RenewAfter), the requests that came with the
// old id keep it: only the renewing request knows the new one.
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
// of one session each get a number of their own. A lazy session is counted
// from the request that stores it: Views is 0 until its first change, and
// 1 from then on in that request. On an Uncounted route, it is the number
// of the last counted view.
func (s *Session) Views() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.views
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
// and slices a map[string]any or []any of those (see [Session.Set]).
// [GetAs] reads any value back into the Go type it was stored from.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.rec.Values[key]
	return copyValue(v), ok
}

// GetString returns the string stored under key; ok is false when there is
// none or the value is of another type.
func (s *Session) GetString(key string) (v string, ok bool) { return typedValue[string](s, key) }

// GetInt returns the integer stored under key; ok is false when there is
// none or the value is of another type.
func (s *Session) GetInt(key string) (v int64, ok bool) { return typedValue[int64](s, key) }

func typedValue[T any](s *Session, key string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.rec.Values[key].(T)
	return v, ok
}

// GetAs reads the value stored under key into a new T, by the rules that
// [Session.Set] stored it with: a struct stored with firestore tags reads
// back into the same struct, a []T into a []T, a map into a map or a struct.
// ok is false when there is no value under key; err, wrapping
// [ErrWrongType], says which part of the value does not fit T.
//
// Integers read into any integer type they fit in and into floats; times
// come back in UTC; fields of a struct match stored keys exactly, or else
// case-insensitively; keys without a field are ignored. T may be any to get
// the stored tree itself.
func GetAs[T any](s *Session, key string) (v T, ok bool, err error) {
	s.mu.Lock()
	x, ok := s.rec.Values[key]
	x = copyValue(x) // decoded outside the lock, from a copy
	s.mu.Unlock()
	if !ok {
		return v, false, nil
	}
	return as[T](key, x)
}

// as decodes the encoded value x, stored under key, into a new T.
func as[T any](key string, x any) (v T, ok bool, err error) {
	if err := decodeValue(reflect.ValueOf(&v).Elem(), x); err != nil {
		var zero T
		return zero, true, fmt.Errorf("value %q: %w", truncate(key, 40), err)
	}
	return v, true, nil
}

// Set stores value under key, to be saved before the response headers are
// sent (or, after that, when the handler returns).
//
// A value can be anything Firestore stores, and is stored as Firestore
// fields that its console shows: a string (valid UTF-8), a bool, an integer
// (stored as int64; unsigned values above math.MaxInt64 are refused), a
// float (stored as float64), a time.Time (stored in UTC with microsecond
// precision, as Firestore keeps it), a []byte, nil, and structs (by their
// `firestore` tags, as the Firestore client stores them), maps with string
// keys, slices and arrays of these. Read them back with [GetAs]. Other
// types, such as channels, functions, arrays directly inside arrays and
// strings that are not valid UTF-8, fail with [ErrUnsupportedType].
//
// Keys, and the keys of maps inside values, must be non-empty valid UTF-8
// and not of the form __name__ ([ErrInvalidKey]). A change that would take
// the session's document past one of Firestore's limits (see
// [MaxDocumentBytes]) fails with [ErrTooLarge], here rather than after the
// response, in every store.
//
// Changing a lazy session that is not stored yet gives it an id and its
// cookie; that must come before the response headers are written
// ([ErrHeadersWritten]).
func (s *Session) Set(key string, value any) error {
	v, err := encodeKeyed(key, value)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	size, err := s.sizeWith(key, v)
	if err != nil {
		return err
	}
	if err := s.materialize(); err != nil {
		return err
	}
	s.put(key, v, size)
	if s.set == nil {
		s.set = make(map[string]any)
	}
	s.set[key] = copyValue(v)
	delete(s.deleted, key)
	return nil
}

// encodeKeyed checks key and encodes value for it.
func encodeKeyed(key string, value any) (any, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	v, err := encode(value)
	if err != nil {
		return nil, fmt.Errorf("value %q: %w", truncate(key, 40), err)
	}
	if err := checkValue(key, v); err != nil {
		return nil, err
	}
	return v, nil
}

// sizeWith returns the size of the session's document with the encoded
// value v under key, or the error of a limit that would pass; s.mu must be
// held. A change that makes no limit worse is allowed, so that a session
// that got past a limit (by another instance's change) can still shrink.
func (s *Session) sizeWith(key string, v any) (docSize, error) {
	before := s.docSize()
	size := before
	if old, ok := s.rec.Values[key]; ok {
		size.add(key, old, -1)
	}
	size.add(key, v, 1)
	if err := size.check(); err != nil && (size.bytes > before.bytes || size.fields > before.fields) {
		return size, fmt.Errorf("value %q: %w", truncate(key, 40), err)
	}
	return size, nil
}

// put sets the encoded value v under key in the session as this request
// sees it, whose document then has size; s.mu must be held.
func (s *Session) put(key string, v any, size docSize) {
	s.size = size
	if s.rec.Values == nil {
		s.rec.Values = make(map[string]any)
	}
	s.rec.Values[key] = v
}

// Delete removes the value under key, to be saved as Set's changes are.
// Deleting a missing key is not an error. To delete every value, delete
// each of Keys; to end the session, Destroy it.
func (s *Session) Delete(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remove(key)
}

// remove deletes key from the session's values; s.mu must be held.
func (s *Session) remove(key string) error {
	if err := s.changeable(); err != nil {
		return err
	}
	s.drop(key)
	delete(s.set, key)
	if !s.pending { // a session not stored yet has nothing to delete
		if s.deleted == nil {
			s.deleted = make(map[string]bool)
		}
		s.deleted[key] = true
	}
	return nil
}

// drop removes key from the session as this request sees it; s.mu must be
// held.
func (s *Session) drop(key string) {
	if old, had := s.rec.Values[key]; had && s.sized {
		s.size.add(key, old, -1)
	}
	delete(s.rec.Values, key)
}

// docSize returns the size of the session with this request's changes,
// computing it the first time; s.mu must be held.
func (s *Session) docSize() docSize {
	if !s.sized {
		s.size, s.sized = sizeOf(&s.rec), true
	}
	return s.size
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
	s.key = Handle(s.id)
	s.views, s.rec.Views = 1, 1
	return nil
}

// changeable reports whether s may still change; s.mu must be held.
func (s *Session) changeable() error {
	if s.state != sessionActive {
		return ErrInactive
	}
	return nil
}

// A pendingSave is what a request must save of its session: the mutation of
// its record, and the version of the session it was made on.
type pendingSave struct {
	Mutation
	before string
}

// takeChanges returns what must be saved of the session's changes so far,
// and ends the session when end is set; ok is false when nothing must be
// saved. s.mu must be held.
func (s *Session) takeChanges(end bool) (c pendingSave, ok bool) {
	if s.state != sessionActive {
		return c, false
	}
	if end {
		s.state = sessionClosed
	}
	if s.pending {
		if s.id == "" {
			return c, false // never changed: never stored
		}
		s.pending = false // stored now: later changes are updates
		s.set, s.deleted = nil, nil
		return pendingSave{Mutation: createMutation(s.key, s.rec)}, true
	}
	if len(s.set) == 0 && len(s.deleted) == 0 {
		return c, false
	}
	c = pendingSave{Mutation: Mutation{Key: s.key, Set: s.set}, before: s.rec.Version}
	if len(s.deleted) > 0 {
		c.Unset = slices.Sorted(maps.Keys(s.deleted))
	}
	s.set, s.deleted = nil, nil
	s.rec.Version = "" // stored without a condition: other changes may come between
	return c, true
}

// createMutation returns the mutation that stores rec as a new session
// under key.
func createMutation(key string, rec Record) Mutation {
	attrs := rec.Attrs
	return Mutation{Key: key, Create: true, AddViews: rec.Views, Set: rec.Values, Attrs: &attrs}
}

// cookieStage returns the header change that sends the session's cookie as
// it now is; s.mu must be held.
func (s *Session) cookieStage() func(http.Header) {
	id, rec := s.id, s.rec
	return func(h http.Header) { s.mgr.setCookie(h, id, rec) }
}

// reload reads the session from the store again, after a conditional
// change found it changed, keeping this request's unsaved changes and view
// number; s.mu must be held. A session that ended meanwhile is
// [ErrInactive].
func (s *Session) reload(ctx context.Context) error {
	for hop := 0; ; hop++ {
		rec, err := s.mgr.get(ctx, "read", s.key)
		switch {
		case errors.Is(err, ErrNotFound):
			return errEnded
		case err != nil:
			return wrap("reload", err)
		case rec.MovedTo != "" && rec.Ended == "" && hop == 0:
			// A Renew or rotation moved the session while this request
			// ran: it goes on where the session went.
			s.key = rec.MovedTo
			continue
		case !rec.live(s.mgr.now()):
			s.mgr.fence(ctx, s.key, rec)
			return errEnded
		}
		s.took(rec)
		return nil
	}
}

// took makes rec, as stored, the session's record, with this request's
// unsaved changes applied over it; s.mu must be held.
func (s *Session) took(rec Record) {
	if rec.Values == nil {
		rec.Values = make(map[string]any)
	}
	for k, v := range s.set {
		rec.Values[k] = copyValue(v)
	}
	for k := range s.deleted {
		delete(rec.Values, k)
	}
	s.rec, s.sized = rec, false
}

// settle waits for the move of the expiry that the session's view
// started, and takes its outcome into the session's record; s.mu must be
// held. Every write of the session comes after it, so that none conflicts
// with it.
func (s *Session) settle() {
	if s.slide == nil {
		return
	}
	<-s.slide.done
	if s.slide.err == nil && s.slide.alone {
		// Nothing came between the view and the slide: the session's
		// record is the view's, with the new expiry.
		s.rec.Version, s.rec.Expires = s.slide.rec.Version, s.slide.rec.Expires
	} else {
		s.rec.Version = "" // read it again before a conditional change
	}
	s.slide = nil
}

// PreviousEnd reports why the session that the request came with ended,
// for a request that was given a new session in its place: when a login
// of its owner elsewhere ended it to keep within Config.MaxOwnerSessions
// ([EndedByLimit]), or a log-out of the owner's sessions elsewhere did
// ([EndedByLogout]); "" otherwise. An app can tell the visitor so ("you
// were signed out because you signed in on another device"). The ended
// session itself is never served again.
func (s *Session) PreviousEnd() EndReason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prevEnd
}
