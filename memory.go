package sessions

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// MemoryStore keeps sessions in this process's memory. It has the same
// semantics as [FirestoreStore], expiry and concurrency included, but its
// sessions are lost on restart and not shared between instances: use it
// for tests and for running on one machine without Google Cloud.
//
// It is bounded, so that a flood of new visitors (bots, uptime checks)
// cannot run the process out of memory: beyond MaxSessions sessions or
// MaxBytes of them, the least recently used sessions are dropped, and
// their visitors get new sessions, as after an expiry.
//
// The zero value is an empty store ready to use, with the default bounds.
// Expired sessions are removed when visited, when the bounds need room, or
// by DeleteExpired; call that from time to time in a long-lived process.
type MemoryStore struct {
	// MaxSessions bounds the number of sessions. Default 100,000.
	MaxSessions int
	// MaxBytes bounds the memory of the sessions, as estimated from their
	// ids and values. Default 64 MiB. A session larger than that on its own
	// is refused.
	MaxBytes int

	mu       sync.Mutex
	sessions map[string]*list.Element   // of *memEntry
	owners   map[string]map[string]bool // owner → ids of its sessions
	lru      list.List                  // most recently used at the front
	bytes    int
	versions uint64 // the last version given
}

// Default bounds of a [MemoryStore].
const (
	defaultMemorySessions = 100_000
	defaultMemoryBytes    = 64 << 20
)

type memEntry struct {
	id   string
	rec  memRecord
	size int
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

// newMemRecord returns rec as the memory store keeps it, or the error that
// Firestore would give for its values.
func newMemRecord(rec Record) (memRecord, error) {
	values, err := checkChanges(rec.Values, nil)
	if err != nil {
		return memRecord{}, err
	}
	r := memRecord{Record: rec}
	r.Values = nil
	if len(values) > 0 {
		r.values = make([]memValue, 0, len(values))
		for k, v := range values {
			r.values = append(r.values, memValue{k, copyValue(v)})
		}
	}
	return r, r.check()
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

// size estimates the memory that r takes under id, as recordSize does for
// a Record.
func (r *memRecord) size(id string) int {
	n := entryOverhead + len(id)
	for _, kv := range r.values {
		n += 16 + len(kv.key) + valueSize(kv.value)
	}
	return n
}

// check reports whether r fits Firestore's limits, so that a session that
// works in memory works in Firestore too.
func (r *memRecord) check() error {
	d := sizeOf(defaultCollection, &r.Record) // its Values are nil: add them
	for _, kv := range r.values {
		d.add(kv.key, kv.value, 1)
	}
	return d.check()
}

// applied returns r with c applied, and the sums of c.Add; r itself is
// left as it is. The values of the result are a new slice, holding r's
// (which are never changed in place) and copies of c's.
func (r *memRecord) applied(c Change) (memRecord, map[string]int64, error) {
	next := *r
	next.values = make([]memValue, 0, len(r.values)+len(c.Set)+len(c.Add))
	var sums map[string]int64
	if len(c.Add) > 0 {
		sums = make(map[string]int64, len(c.Add))
	}
	for _, kv := range r.values {
		_, set := c.Set[kv.key]
		if n, add := c.Add[kv.key]; add && !set {
			old, ok := kv.value.(int64)
			if !ok {
				return memRecord{}, nil, fmt.Errorf("%w: value %q is %s, not an integer", ErrWrongType, truncate(kv.key, 40), describe(kv.value))
			}
			sums[kv.key] = old + n
			continue
		}
		if !set && !slices.Contains(c.Delete, kv.key) {
			next.values = append(next.values, kv)
		}
	}
	for k, v := range c.Set {
		if n, add := c.Add[k]; add {
			old, ok := v.(int64)
			if !ok {
				return memRecord{}, nil, fmt.Errorf("%w: value %q is %s, not an integer", ErrWrongType, truncate(k, 40), describe(v))
			}
			sums[k] = old + n
			continue
		}
		next.values = append(next.values, memValue{k, copyValue(v)})
	}
	for k, n := range c.Add {
		if _, done := sums[k]; !done {
			sums[k] = n // a missing value counts as 0
		}
		next.values = append(next.values, memValue{k, sums[k]})
	}
	attrs := c
	attrs.Set, attrs.Delete, attrs.Add = nil, nil, nil
	attrs.applyAttrs(&next.Record)
	return next, sums, next.check()
}

// NewMemoryStore returns an empty MemoryStore with the default bounds.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// get returns the entry of id, marking it used; m.mu must be held.
func (m *MemoryStore) get(id string) (*memEntry, bool) {
	el, ok := m.sessions[id]
	if !ok {
		return nil, false
	}
	m.lru.MoveToFront(el)
	return el.Value.(*memEntry), true
}

// bounds returns the store's bounds, defaults applied.
func (m *MemoryStore) bounds() (sessions, bytes int) {
	sessions, bytes = m.MaxSessions, m.MaxBytes
	if sessions <= 0 {
		sessions = defaultMemorySessions
	}
	if bytes <= 0 {
		bytes = defaultMemoryBytes
	}
	return sessions, bytes
}

// tooBig refuses a session of size bytes over the bound max.
func tooBig(size, max int) error {
	if size > max {
		return fmt.Errorf("sessions: memory store: a session of %d bytes exceeds MaxBytes (%d)", size, max)
	}
	return nil
}

// put stores rec under id, in place of any record there, and drops the
// least recently used others as the bounds require; m.mu must be held.
func (m *MemoryStore) put(id string, rec memRecord) error {
	maxSessions, maxBytes := m.bounds()
	e := &memEntry{id: id, rec: rec, size: rec.size(id)}
	if err := tooBig(e.size, maxBytes); err != nil {
		return err
	}
	if m.sessions == nil {
		m.sessions = make(map[string]*list.Element)
	}
	m.remove(id)
	m.sessions[id] = m.lru.PushFront(e)
	m.bytes += e.size
	if o := rec.Owner; o != "" {
		if m.owners == nil {
			m.owners = make(map[string]map[string]bool)
		}
		if m.owners[o] == nil {
			m.owners[o] = make(map[string]bool)
		}
		m.owners[o][id] = true
	}
	for m.lru.Len() > maxSessions || m.bytes > maxBytes {
		m.remove(m.lru.Back().Value.(*memEntry).id)
	}
	return nil
}

// remove drops the record of id, if any; m.mu must be held.
func (m *MemoryStore) remove(id string) {
	if el, ok := m.sessions[id]; ok {
		e := m.lru.Remove(el).(*memEntry)
		m.bytes -= e.size
		delete(m.sessions, id)
		if o := e.rec.Owner; o != "" {
			delete(m.owners[o], id)
			if len(m.owners[o]) == 0 {
				delete(m.owners, o)
			}
		}
	}
}

// version gives rec the store's next version; m.mu must be held.
func (m *MemoryStore) version(rec *memRecord) {
	m.versions++
	rec.Version = strconv.FormatUint(m.versions, 10)
}

// Create implements [Store].
func (m *MemoryStore) Create(ctx context.Context, id string, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ValidID(id) {
		return errMalformedID
	}
	r, err := newMemRecord(rec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[id]; ok {
		return ErrExists
	}
	m.version(&r)
	return m.put(id, r)
}

// Get implements [Store].
func (m *MemoryStore) Get(ctx context.Context, id string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.get(id)
	if !ok {
		return Record{}, ErrNotFound
	}
	return e.rec.record(), nil
}

// Visit implements [Store].
func (m *MemoryStore) Visit(ctx context.Context, id string, views int64) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.get(id)
	if !ok {
		return Record{}, ErrNotFound
	}
	e.rec.Views += views
	m.version(&e.rec)
	return e.rec.record(), nil
}

// Apply implements [Store].
func (m *MemoryStore) Apply(ctx context.Context, id string, c Change) (Applied, error) {
	if err := ctx.Err(); err != nil {
		return Applied{}, err
	}
	set, err := checkChanges(c.Set, c.Delete)
	if err != nil {
		return Applied{}, err
	}
	c.Set = set
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.get(id)
	if !ok {
		return Applied{}, ErrNotFound
	}
	if c.IfVersion != "" && c.IfVersion != e.rec.Version {
		return Applied{}, ErrConflict
	}
	next, sums, err := e.rec.applied(c)
	if err != nil {
		return Applied{}, err
	}
	m.version(&next)
	if err := m.put(id, next); err != nil {
		return Applied{}, err
	}
	return Applied{Version: next.Version, Sums: sums}, nil
}

// Owned implements [OwnerIndex] from an index of the sessions by owner.
func (m *MemoryStore) Owned(ctx context.Context, owner string) (map[string]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Record, len(m.owners[owner]))
	for id := range m.owners[owner] {
		out[Handle(id)] = m.sessions[id].Value.(*memEntry).rec.record()
	}
	return out, nil
}

// DeleteOwned implements [OwnerIndex].
func (m *MemoryStore) DeleteOwned(ctx context.Context, owner string, handles []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id := range m.owners[owner] {
		if handles == nil || slices.Contains(handles, Handle(id)) {
			m.remove(id)
			n++
		}
	}
	return n, nil
}

// Rename implements [Store].
func (m *MemoryStore) Rename(ctx context.Context, oldID, newID string, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ValidID(oldID) || !ValidID(newID) {
		return errMalformedID
	}
	r, err := newMemRecord(rec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.sessions[oldID]
	switch {
	case !ok:
		return ErrNotFound // destroyed meanwhile: do not bring it back
	case old.Value.(*memEntry).rec.Version != rec.Version:
		return ErrConflict
	}
	if _, ok := m.sessions[newID]; ok {
		return ErrExists
	}
	m.version(&r)
	if err := m.put(newID, r); err != nil {
		return err
	}
	m.remove(oldID)
	return nil
}

// Delete implements [Store].
func (m *MemoryStore) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remove(id)
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
	for id, el := range m.sessions {
		if !el.Value.(*memEntry).rec.live(now) {
			m.remove(id)
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
