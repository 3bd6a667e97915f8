package sessions

import (
	"container/heap"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// MemoryStore keeps records in this process's memory. It is a [Store] like
// any other, so the Manager gives its sessions the same semantics as
// Firestore's, expiry and concurrency included; but they are lost on
// restart and not shared between processes: use it for tests and for
// running on one machine without Google Cloud.
//
// Like Firestore, it refuses a record past Firestore's limits
// ([MaxDocumentBytes], [ErrTooLarge]), which Session.Set checks before;
// only changes of one session by several requests at once can reach them.
//
// It is bounded, so that a flood of new visitors (bots, uptime checks)
// cannot run the process out of memory: beyond MaxSessions records or
// MaxBytes of them, it drops the records that expire first (among
// sessions of one idle timeout, the least recently used), and their
// visitors get new sessions, as after an expiry.
//
// The zero value is an empty store ready to use, with the default bounds.
// Ended sessions stay until the bounds need room or DeleteExpired removes
// them; call that from time to time in a long-lived process.
type MemoryStore struct {
	// MaxSessions bounds the number of records. Default 100,000.
	MaxSessions int
	// MaxBytes bounds the memory of the records, as estimated from their
	// keys and values. Default 64 MiB. A record larger than that on its
	// own is refused.
	MaxBytes int

	mu       sync.Mutex
	records  map[string]*memEntry
	byExpiry expiryHeap // every entry, the first to expire on top
	bytes    int
	versions uint64 // the last version given
}

// Default bounds of a [MemoryStore].
const (
	defaultMemorySessions = 100_000
	defaultMemoryBytes    = 64 << 20
)

// NewMemoryStore returns an empty MemoryStore with the default bounds.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// A memEntry is one record as the memory store keeps it: the values as a
// short slice instead of a map, because a map per record is several times
// the memory, and the garbage collector scans every byte of it again and
// again (with many sessions it was most of the cost of creating one).
type memEntry struct {
	key    string
	rec    Record // Values is always nil here
	values []memValue
	size   int
	index  int // in byExpiry
}

type memValue struct {
	key   string
	value any
}

// record returns the entry's Record, with a map of copies of the values.
func (e *memEntry) record() Record {
	rec := e.rec
	if len(e.values) > 0 {
		rec.Values = make(map[string]any, len(e.values))
		for _, kv := range e.values {
			rec.Values[kv.key] = copyValue(kv.value)
		}
	}
	return rec
}

// memEntryOverhead estimates the memory of an entry beside its key and
// values: the entry, its map slot and heap place, its times.
const memEntryOverhead = 200

// newMemEntry returns rec as the memory store keeps it under key. The
// entry takes rec's values over.
func newMemEntry(key string, rec Record) *memEntry {
	e := &memEntry{key: key, rec: rec, size: memEntryOverhead + len(key) + len(rec.Owner)}
	e.rec.Values = nil
	if len(rec.Values) > 0 {
		e.values = make([]memValue, 0, len(rec.Values))
		for k, v := range rec.Values {
			e.values = append(e.values, memValue{k, v})
			e.size += 16 + len(k) + valueSize(v)
		}
	}
	return e
}

// bounds returns the store's bounds, defaults applied.
func (m *MemoryStore) bounds() (records, bytes int) {
	records, bytes = m.MaxSessions, m.MaxBytes
	if records <= 0 {
		records = defaultMemorySessions
	}
	if bytes <= 0 {
		bytes = defaultMemoryBytes
	}
	return records, bytes
}

// Get implements [Store].
func (m *MemoryStore) Get(ctx context.Context, key string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.records[key]
	if !ok {
		return Record{}, fmt.Errorf("%w: no record under %q", ErrNotFound, key)
	}
	return e.record(), nil
}

// Commit implements [Store]: the mutations are checked and applied under
// one lock, by [Mutation.Apply].
func (m *MemoryStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// The records as the mutations leave them, by key; nil: deleted.
	next := make(map[string]*Record, len(ms))
	out := make([]Record, len(ms))
	for i, mu := range ms {
		cur, seen := next[mu.Key]
		if !seen {
			if e, ok := m.records[mu.Key]; ok {
				rec := e.record()
				cur = &rec
			}
		}
		switch {
		case mu.Create && cur != nil:
			return nil, fmt.Errorf("%w: a record is stored under %q", ErrExists, mu.Key)
		case mu.IfVersion != "" && cur == nil:
			return nil, fmt.Errorf("%w: no record under %q", ErrConflict, mu.Key)
		case !mu.Create && cur == nil:
			return nil, fmt.Errorf("%w: no record under %q", ErrNotFound, mu.Key)
		case mu.IfVersion != "" && mu.IfVersion != cur.Version:
			return nil, fmt.Errorf("%w: %q is at version %s, not %s", ErrConflict, mu.Key, cur.Version, mu.IfVersion)
		}
		if mu.Delete {
			next[mu.Key] = nil
			continue
		}
		rec := Record{}
		if cur != nil {
			rec = *cur
		}
		rec = mu.Apply(rec)
		m.versions++
		rec.Version = strconv.FormatUint(m.versions, 10)
		next[mu.Key] = &rec
		out[i] = rec
		out[i].Values = copyValues(rec.Values)
	}
	_, maxBytes := m.bounds()
	entries := make(map[string]*memEntry, len(next))
	for key, rec := range next {
		if rec == nil {
			continue
		}
		// Firestore refuses a document past its limits: so does the
		// memory store, by the rule Session.Set checks them with, so that
		// what works in memory works in Firestore.
		if err := sizeOf(rec).check(); err != nil {
			return nil, err
		}
		e := newMemEntry(key, *rec)
		if e.size > maxBytes {
			return nil, fmt.Errorf("%w: a record of %d bytes exceeds the memory store's MaxBytes (%d)", ErrTooLarge, e.size, maxBytes)
		}
		entries[key] = e
	}
	for key := range next {
		m.remove(key)
		if e := entries[key]; e != nil {
			m.put(e)
		}
	}
	m.fit()
	return out, nil
}

// put stores e; m.mu must be held, and no entry stored under e.key.
func (m *MemoryStore) put(e *memEntry) {
	if m.records == nil {
		m.records = make(map[string]*memEntry)
	}
	m.records[e.key] = e
	heap.Push(&m.byExpiry, e)
	m.bytes += e.size
}

// remove drops the record under key, if any; m.mu must be held.
func (m *MemoryStore) remove(key string) {
	if e, ok := m.records[key]; ok {
		heap.Remove(&m.byExpiry, e.index)
		delete(m.records, key)
		m.bytes -= e.size
	}
}

// fit drops the records that expire first until the store is within its
// bounds; m.mu must be held.
func (m *MemoryStore) fit() {
	maxRecords, maxBytes := m.bounds()
	for len(m.records) > maxRecords || m.bytes > maxBytes {
		m.remove(m.byExpiry[0].key)
	}
}

// DeleteExpired removes every record whose expiry is at or before now, and
// reports how many it removed.
func (m *MemoryStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for len(m.byExpiry) > 0 && !m.byExpiry[0].rec.Expires.After(now) {
		m.remove(m.byExpiry[0].key)
		n++
	}
	return n, nil
}

// Len returns the number of records stored, ended sessions included until
// they are removed.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// expiryHeap orders entries by expiry, the earliest first (container/heap).
type expiryHeap []*memEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].rec.Expires.Before(h[j].rec.Expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*memEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
