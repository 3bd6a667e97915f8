package sessions

import (
	"context"
	"maps"
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
	sessions map[string]*Record
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Create implements [Store].
func (m *MemoryStore) Create(ctx context.Context, id string, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[id]; ok {
		return ErrExists
	}
	if m.sessions == nil {
		m.sessions = make(map[string]*Record)
	}
	rec.Values = copyValues(rec.Values)
	m.sessions[id] = &rec
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
	out := *rec
	out.Values = copyValues(rec.Values)
	return out, nil
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
	if rec.Values == nil {
		rec.Values = make(map[string]any, len(set))
	}
	for _, k := range del {
		delete(rec.Values, k)
	}
	maps.Copy(rec.Values, copyValues(set))
	return nil
}

// Rename implements [Store].
func (m *MemoryStore) Rename(ctx context.Context, oldID, newID string, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
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
	rec.Values = copyValues(rec.Values)
	m.sessions[newID] = &rec
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
