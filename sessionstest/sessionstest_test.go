package sessionstest_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/sessionstest"
)

// gobStore is a store as a user of the package might write one for a
// key-value database: each record an encoded blob under its id, read,
// changed and written back under one lock.
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

func (s *gobStore) get(id string) (sessions.Record, bool) {
	var rec sessions.Record
	b, ok := s.blobs[id]
	if !ok || gob.NewDecoder(bytes.NewReader(b)).Decode(&rec) != nil {
		return sessions.Record{}, false
	}
	for k, v := range rec.Values {
		rec.Values[k] = emptyArrays(v)
	}
	return rec, true
}

// emptyArrays gives back the empty arrays that gob decodes as nil slices:
// an encoded value holds no nil slice (a nil slice is stored as nil).
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
		for k, x := range v {
			v[k] = emptyArrays(x)
		}
	}
	return v
}

func (s *gobStore) put(id string, rec sessions.Record) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(rec); err != nil {
		return err
	}
	s.blobs[id] = buf.Bytes()
	return nil
}

// check refuses what every store refuses, then locks the store.
func (s *gobStore) check(ctx context.Context, ids ...string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !sessions.ValidID(id) {
			return nil, sessions.ErrNotFound
		}
	}
	s.mu.Lock()
	return s.mu.Unlock, nil
}

func live(rec sessions.Record, now time.Time) bool {
	return now.Before(rec.Expires) && now.Before(rec.Deadline)
}

func (s *gobStore) Create(ctx context.Context, id string, rec sessions.Record) error {
	unlock, err := s.check(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.blobs[id]; ok {
		return sessions.ErrExists
	}
	s.version(&rec)
	return s.put(id, rec)
}

// version gives rec the next version; s.mu must be held.
func (s *gobStore) version(rec *sessions.Record) {
	s.versions++
	rec.Version = strconv.Itoa(s.versions)
}

func (s *gobStore) Get(ctx context.Context, id string) (sessions.Record, error) {
	unlock, err := s.check(ctx, id)
	if err != nil {
		return sessions.Record{}, err
	}
	defer unlock()
	rec, ok := s.get(id)
	if !ok {
		return sessions.Record{}, sessions.ErrNotFound
	}
	return rec, nil
}

func (s *gobStore) Visit(ctx context.Context, id string, views int64) (sessions.Record, error) {
	unlock, err := s.check(ctx, id)
	if err != nil {
		return sessions.Record{}, err
	}
	defer unlock()
	rec, ok := s.get(id)
	if !ok {
		return sessions.Record{}, sessions.ErrNotFound
	}
	rec.Views += views
	s.version(&rec)
	return rec, s.put(id, rec)
}

func (s *gobStore) Apply(ctx context.Context, id string, c sessions.Change) (sessions.Applied, error) {
	unlock, err := s.check(ctx, id)
	if err != nil {
		return sessions.Applied{}, err
	}
	defer unlock()
	rec, ok := s.get(id)
	switch {
	case !ok:
		return sessions.Applied{}, sessions.ErrNotFound
	case c.IfVersion != "" && c.IfVersion != rec.Version:
		return sessions.Applied{}, sessions.ErrConflict
	}
	if rec.Values == nil {
		rec.Values = map[string]any{}
	}
	maps.Copy(rec.Values, c.Set)
	for _, k := range c.Delete {
		delete(rec.Values, k)
	}
	sums := map[string]int64{}
	for k, n := range c.Add {
		old, _ := rec.Values[k].(int64)
		rec.Values[k] = old + n
		sums[k] = old + n
	}
	if c.Owner != nil {
		rec.Owner = *c.Owner
	}
	if c.SetLifetime {
		rec.Idle, rec.Deadline, rec.BrowserSession = c.Idle, c.Deadline, c.BrowserSession
	}
	if !c.Expires.IsZero() {
		rec.Expires = c.Expires
	}
	s.version(&rec)
	return sessions.Applied{Version: rec.Version, Sums: sums}, s.put(id, rec)
}

func (s *gobStore) Rename(ctx context.Context, oldID, newID string, rec sessions.Record) error {
	unlock, err := s.check(ctx, oldID, newID)
	if err != nil {
		return err
	}
	defer unlock()
	old, ok := s.get(oldID)
	switch {
	case !ok:
		return sessions.ErrNotFound
	case old.Version != rec.Version:
		return sessions.ErrConflict
	}
	delete(s.blobs, oldID)
	s.version(&rec)
	return s.put(newID, rec)
}

func (s *gobStore) Delete(ctx context.Context, id string) error {
	if !sessions.ValidID(id) {
		return nil
	}
	unlock, err := s.check(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	delete(s.blobs, id)
	return nil
}

func (s *gobStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	unlock, err := s.check(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	n := 0
	for id := range s.blobs {
		if rec, _ := s.get(id); !live(rec, now) {
			delete(s.blobs, id)
			n++
		}
	}
	return n, nil
}

// A store written outside the package passes the suite.
func TestStoreOfYourOwn(t *testing.T) {
	sessionstest.TestStore(t, func(t *testing.T) sessions.Store {
		return &gobStore{blobs: map[string][]byte{}}
	})
}
