package sessionstest_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/sessionstest"
)

// gobStore is a store as a user of the package might write one for a
// key-value database: each record an encoded blob under its key, read,
// changed by Mutation.Apply and written back, under one lock. It is
// mechanism only: what a session is, and when it ends, is the Manager's.
type gobStore struct {
	mu       sync.Mutex
	blobs    map[string][]byte
	versions int
}

func init() {
	gob.Register(time.Time{})
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

// decode returns the record encoded as b.
func decode(b []byte) (sessions.Record, bool) {
	var rec sessions.Record
	if b == nil || gob.NewDecoder(bytes.NewReader(b)).Decode(&rec) != nil {
		return sessions.Record{}, false
	}
	for k, v := range rec.Values {
		rec.Values[k] = emptyArrays(v)
	}
	return rec, true
}

// encode returns rec encoded.
func encode(rec sessions.Record) ([]byte, error) {
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(rec)
	return buf.Bytes(), err
}

// emptyArrays gives back the empty arrays and maps that gob decodes as
// nil: an encoded value holds no nil slice or map (nil is stored as nil).
func emptyArrays(v any) any {
	switch v := v.(type) {
	case []any:
		if v == nil {
			return []any{}
		}
		for i, x := range v {
			v[i] = emptyArrays(x)
		}
	case map[string]any:
		if v == nil {
			return map[string]any{}
		}
		for k, x := range v {
			v[k] = emptyArrays(x)
		}
	}
	return v
}

func (s *gobStore) Get(ctx context.Context, key string) (sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Record{}, fmt.Errorf("%w: %w", sessions.ErrUnavailable, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := decode(s.blobs[key])
	if !ok {
		return sessions.Record{}, sessions.ErrNotFound
	}
	return rec, nil
}

func (s *gobStore) Commit(ctx context.Context, ms ...sessions.Mutation) ([]sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", sessions.ErrUnavailable, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string][]byte{} // what the mutations leave, by key; nil: deleted
	out := make([]sessions.Record, len(ms))
	for i, m := range ms {
		blob, seen := next[m.Key]
		if !seen {
			blob = s.blobs[m.Key]
		}
		cur, exists := decode(blob)
		switch {
		case m.Create && exists:
			return nil, sessions.ErrExists
		case m.IfVersion != "" && (!exists || m.IfVersion != cur.Version):
			return nil, sessions.ErrConflict
		case !m.Create && !exists:
			return nil, sessions.ErrNotFound
		case m.IfVersion != "" && m.IfVersion != cur.Version:
			return nil, sessions.ErrConflict
		case m.Delete:
			next[m.Key] = nil
			continue
		}
		rec := m.Apply(cur)
		s.versions++
		rec.Version = strconv.Itoa(s.versions)
		b, err := encode(rec)
		if err != nil {
			return nil, err
		}
		next[m.Key], out[i] = b, rec
	}
	for k, b := range next {
		if b == nil {
			delete(s.blobs, k)
		} else {
			s.blobs[k] = b
		}
	}
	// The records handed out share nothing with what is stored.
	for i, rec := range out {
		b, _ := encode(rec)
		out[i], _ = decode(b)
	}
	return out, nil
}

// A store written outside the package, of mechanism only, passes the
// suite.
func TestStoreOfYourOwn(t *testing.T) {
	sessionstest.TestStore(t, func(t *testing.T) sessions.Store {
		return &gobStore{blobs: map[string][]byte{}}
	})
}
