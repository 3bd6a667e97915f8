package sessions

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore keeps sessions in this process's memory. It has the same
// semantics as [FirestoreStore], expiry and concurrency included, but its
// sessions are lost on restart and not shared between instances: use it
// for tests and for running on one machine without Google Cloud.
//
// The zero value is an empty store ready to use. Expired sessions are
// removed when visited or by DeleteExpired; call that from time to time in
// a long-lived process.
type MemoryStore struct {
	mu       sync.Mutex
	sessions map[string]memRecord
}

// memRecord is a Record as the memory store keeps it: values as a short
// slice instead of a map, because a map per session is several times the
// memory, and the garbage collector scans every byte of it again and again
// (with many sessions it was most of the cost of creating one).
type memRecord struct {
	Record // Values is always nil here
	values []memValue
}

type memValue struct {
	key   string
	value any
}

func newMemRecord(rec Record) memRecord {
	r := memRecord{Record: rec}
	r.Values = nil
	if len(rec.Values) > 0 {
		r.values = make([]memValue, 0, len(rec.Values))
		for k, v := range rec.Values {
			r.values = append(r.values, memValue{k, copyValue(v)})
		}
	}
	return r
}

// record returns the Record, with a map of copies of the values.
func (r *memRecord) record() Record {
	rec := r.Record
	if len(r.values) > 0 {
		rec.Values = make(map[string]any, len(r.values))
		for _, kv := range r.values {
			rec.Values[kv.key] = copyValue(kv.value)
		}
	}
	return rec
}

// update applies changes to the values.
func (r *memRecord) update(set map[string]any, del []string) {
	r.values = slices.DeleteFunc(r.values, func(kv memValue) bool {
		_, replaced := set[kv.key]
		return replaced || slices.Contains(del, kv.key)
	})
	for k, v := range set {
		r.values = append(r.values, memValue{k, copyValue(v)})
	}
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Create implements [Store].
func (m *MemoryStore) Create(ctx context.Context, id string, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ValidID(id) {
		return errMalformedID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[id]; ok {
		return ErrExists
	}
	if m.sessions == nil {
		m.sessions = make(map[string]memRecord)
	}
	m.sessions[id] = newMemRecord(rec)
	return nil
}

// Visit implements [Store].
func (m *MemoryStore) Visit(ctx context.Context, id string, views int64, now time.Time, idle time.Duration) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.sessions[id]
	if !ok {
		return Record{}, ErrNotFound
	}
	if !rec.live(now) {
		delete(m.sessions, id)
		return Record{}, ErrNotFound
	}
	rec.Views += views
	rec.slide(now, idle)
	m.sessions[id] = rec
	return rec.record(), nil
}

// Update implements [Store].
func (m *MemoryStore) Update(ctx context.Context, id string, set map[string]any, del []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkChanges(set, del); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.sessions[id]
	if !ok {
		return ErrNotFound
	}
	rec.update(set, del)
	m.sessions[id] = rec
	return nil
}

// Rename implements [Store].
func (m *MemoryStore) Rename(ctx context.Context, oldID, newID string, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ValidID(oldID) || !ValidID(newID) {
		return errMalformedID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[oldID]; !ok {
		return ErrNotFound // destroyed meanwhile: do not bring it back
	}
	if _, ok := m.sessions[newID]; ok {
		return ErrExists
	}
	delete(m.sessions, oldID)
	m.sessions[newID] = newMemRecord(rec)
	return nil
}

// Delete implements [Store].
func (m *MemoryStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

// DeleteExpired implements [Store].
func (m *MemoryStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, rec := range m.sessions {
		if !rec.live(now) {
			delete(m.sessions, id)
			n++
		}
	}
	return n, nil
}

// Len returns the number of sessions stored, expired ones included until
// they are removed.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}
