package sessions

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// The atomic operations of a session change one value as stored, not as
// this request saw it: each is stored when it returns, and is exact however
// many requests (on however many instances) change the same key at once.
// Each is a read-modify-write: the write is conditional on the version the
// request read (one round trip when nothing changed the session since);
// when another change came between, the session is read again and the
// change retried on what is stored (two more round trips a try). A pending
// Set or Delete of the same key by this request is part of the operation,
// and is no longer pending after it. A session that ended meanwhile is
// [ErrInactive]: no change brings it back.

// Modify changes the value under key by f, atomically: f gets the value as
// stored (ok is false when there is none) and returns the new one, which is
// stored, and returned, only if nothing changed the session meanwhile;
// otherwise f runs again on the newly stored value. f may thus run more
// than once, and must not have other effects. An error from f is returned
// as it is, and nothing is stored.
//
// Use it for values that concurrent requests change, such as a cart:
//
//	cart, err := sessions.Modify(ctx, s, "cart", func(c Cart, _ bool) (Cart, error) {
//		c.Items = append(c.Items, item)
//		return c, nil
//	})
func Modify[T any](ctx context.Context, s *Session, key string, f func(old T, ok bool) (T, error)) (T, error) {
	var out T
	err := s.modify(ctx, key, func(old any, ok bool) (any, bool, error) {
		var v T
		if ok {
			var err error
			if v, _, err = as[T](key, old); err != nil {
				return nil, false, err
			}
		}
		n, err := f(v, ok)
		if err != nil {
			return nil, false, err
		}
		out = n
		return n, false, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// Pop returns the value under key, as Get does, and deletes it from the
// store, atomically: of concurrent requests that pop one value, on any
// instance, exactly one gets it. ok is false when there is none. Use it for
// one-time values such as an OAuth state or a nonce.
func (s *Session) Pop(ctx context.Context, key string) (v any, ok bool, err error) {
	err = s.modify(ctx, key, func(old any, had bool) (any, bool, error) {
		v, ok = old, had
		return nil, true, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v, ok, nil
}

// PopAs pops the value under key, as [Session.Pop] does, and reads it into
// a new T, as [GetAs] does. The value is deleted even when it does not fit
// T ([ErrWrongType]).
func PopAs[T any](ctx context.Context, s *Session, key string) (v T, ok bool, err error) {
	x, ok, err := s.Pop(ctx, key)
	if err != nil || !ok {
		return v, false, err
	}
	return as[T](key, x)
}

// Increment adds delta to the integer under key (a missing value counts as
// 0) and returns the result, atomically: concurrent increments on any
// instance are all counted. A value of another type is left as it is
// ([ErrWrongType]), and so is one that the sum would take past the range
// of int64 ([ErrTooLarge]).
func (s *Session) Increment(ctx context.Context, key string, delta int64) (int64, error) {
	var sum int64
	err := s.modify(ctx, key, func(old any, had bool) (any, bool, error) {
		cur, isInt := old.(int64)
		switch {
		case had && !isInt:
			return nil, false, fmt.Errorf("value %q: %w: %s, not an integer", truncate(key, 40), ErrWrongType, describe(old))
		case delta > 0 && cur > math.MaxInt64-delta, delta < 0 && cur < math.MinInt64-delta:
			return nil, false, fmt.Errorf("value %q: %w: %d%+d overflows int64", truncate(key, 40), ErrTooLarge, cur, delta)
		}
		sum = cur + delta
		return sum, false, nil
	})
	if err != nil {
		return 0, err
	}
	return sum, nil
}

// setKey returns set with v under key, made if nil.
func setKey(set map[string]any, key string, v any) map[string]any {
	if set == nil {
		set = make(map[string]any)
	}
	set[key] = v
	return set
}

// modify runs the read-modify-write of the value under key: f gets the
// value as stored and returns the new value, or del to delete it.
func (s *Session) modify(ctx context.Context, key string, f func(old any, ok bool) (v any, del bool, err error)) error {
	if err := checkKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.changeable(); err != nil {
		return err
	}
	m := s.mgr
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	if !s.pending {
		release, err := m.turns.take(ctx, s.key)
		if err != nil {
			return fmt.Errorf("%w: modify %q: waiting for the session's other changes: %w", ErrUnavailable, truncate(key, 40), err)
		}
		defer release()
		s.settle()
	}
	for try := 0; ; try++ {
		if s.rec.Version == "" && !s.pending {
			if err := s.reload(ctx); err != nil {
				return err
			}
		}
		old, had := s.rec.Values[key]
		nv, del, err := f(copyValue(old), had)
		if err != nil {
			return err
		}
		var enc any
		size := s.docSize()
		if !del {
			if enc, err = encodeKeyed(key, nv); err != nil {
				return err
			}
			if size, err = s.sizeWith(key, enc); err != nil {
				return err
			}
		}
		if s.pending {
			// Not stored yet: this request is the only one that knows it.
			if del {
				s.drop(key)
				delete(s.set, key)
				return nil
			}
			if err := s.materialize(); err != nil {
				return err
			}
			s.put(key, enc, size)
			s.set = setKey(s.set, key, copyValue(enc))
			return nil
		}
		_, unsaved := s.set[key]
		if del && !had && !unsaved && !s.deleted[key] {
			return nil // nothing stored to delete
		}
		if !s.rec.live(m.now()) {
			return fmt.Errorf("%w: the session ended", ErrInactive)
		}
		mu := Mutation{Key: s.key, IfVersion: s.rec.Version}
		if del {
			mu.Unset = []string{key}
		} else {
			mu.Set = map[string]any{key: enc}
		}
		before := s.rec.Version
		res, err := m.commit(ctx, "change", mu)
		if errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
			// The answer was lost: resent only if it surely was not
			// applied (see resolveChange).
			var fresh Record
			var applied bool
			if fresh, applied, err = m.resolveChange(ctx, s.key, before, nil); err == nil && !applied {
				s.took(fresh)
				continue
			}
		}
		switch {
		case err == nil:
			delete(s.set, key)
			delete(s.deleted, key)
			s.took(res[0])
			return nil
		case errors.Is(err, ErrNotFound):
			return errEnded
		case !errors.Is(err, ErrConflict):
			return wrap("modify", err)
		case try+1 == maxTries:
			return fmt.Errorf("sessions: modify %q: the session kept changing (%d tries): %w", truncate(key, 40), maxTries, err)
		}
		s.rec.Version = "" // read it again
		if err := pause(ctx, try); err != nil {
			return fmt.Errorf("%w: modify %q: %w", ErrUnavailable, truncate(key, 40), err)
		}
	}
}

// flashKey is the key under which AddFlash keeps a session's flash
// messages.
const flashKey = "flashes"

// AddFlash adds a message to show on a later page, typically the one a
// form's POST redirects to. Messages are kept in order under "flashes"
// until Flashes reads them; adding is atomic, so concurrent requests'
// messages are all kept.
func (s *Session) AddFlash(ctx context.Context, msg string) error {
	_, err := Modify(ctx, s, flashKey, func(list []string, _ bool) ([]string, error) {
		return append(list, msg), nil
	})
	return err
}

// Flashes returns the flash messages added so far and deletes them,
// atomically, so each is shown once. It returns nil when there are none.
func (s *Session) Flashes(ctx context.Context) ([]string, error) {
	list, _, err := PopAs[[]string](ctx, s, flashKey)
	return list, err
}
