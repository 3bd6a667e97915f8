package sessions

import (
	"container/list"
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// recordCache keeps the records a FirestoreStore last read or wrote, each
// with the rev (the count of changes of its values and attributes other
// than the expiry) it had then, least recently used first out, within a bound of
// entries and of estimated bytes.
//
// An entry's values and attributes are exactly as Firestore stored them at
// its rev. Every write reads the document's rev back, so an entry whose record
// another instance changed since is noticed at once, and never taken as
// current.
//
// A nil *recordCache caches nothing. Records in it are shared: their Values
// maps are never changed once put, and callers copy before handing a record
// out.
type recordCache struct {
	maxEntries, maxBytes int

	mu    sync.Mutex
	bytes int
	lru   list.List // of *cacheEntry, most recently used at the front
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key string
	rec Record
	rev int64
	// alongside marks a session that other instances change: its views
	// read the document side by side with their Commit.
	alongside bool
	size      int
}

// newRecordCache returns a cache within the bounds of cfg, or nil when cfg
// disables it.
func newRecordCache(cfg FirestoreConfig) *recordCache {
	if cfg.CacheSize < 0 || cfg.CacheBytes < 0 {
		return nil
	}
	c := &recordCache{maxEntries: cfg.CacheSize, maxBytes: cfg.CacheBytes, byKey: make(map[string]*list.Element)}
	if c.maxEntries == 0 {
		c.maxEntries = defaultCacheSize
	}
	if c.maxBytes == 0 {
		c.maxBytes = defaultCacheBytes
	}
	return c
}

// get returns the entry of key, if cached.
func (c *recordCache) get(key string) (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return cacheEntry{}, false
	}
	c.lru.MoveToFront(el)
	return *el.Value.(*cacheEntry), true
}

// put caches rec as the record of key at rev, in place of any entry of
// key. The cache takes rec.Values over: the caller must not change it
// afterwards.
func (c *recordCache) put(key string, rec Record, rev int64, alongside bool) {
	if c == nil {
		return
	}
	e := &cacheEntry{key: key, rec: rec, rev: rev, alongside: alongside, size: recordSize(key, rec)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok {
		c.remove(el)
	}
	if e.size > c.maxBytes {
		return
	}
	c.byKey[e.key] = c.lru.PushFront(e)
	c.bytes += e.size
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

// drop forgets key.
func (c *recordCache) drop(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.remove(el)
	}
}

func (c *recordCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.byKey, e.key)
	c.bytes -= e.size
}

// usage returns the number of entries and their estimated bytes.
func (c *recordCache) usage() (entries, bytes int) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}

// cacheEntryOverhead is the memory of a cached record beside its key and
// values: the entry, its list element, map slot and times.
const cacheEntryOverhead = 200

// recordSize estimates the memory an entry of rec takes.
func recordSize(key string, rec Record) int {
	n := cacheEntryOverhead + len(key) + len(rec.Owner)
	for k, v := range rec.Values {
		n += 16 + len(k) + valueSize(v)
	}
	return n
}

// storeTelemetry is what the Firestore store reports of its cache.
type storeTelemetry struct {
	cacheLookups metric.Int64Counter
	conflicts    metric.Int64Counter
}

// newStoreTelemetry returns the instruments of mp, the global provider
// when nil.
func newStoreTelemetry(mp metric.MeterProvider) (*storeTelemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	t := &storeTelemetry{}
	var errs [2]error
	t.cacheLookups, errs[0] = m.Int64Counter("sessions.cache.lookups", metric.WithUnit("{lookup}"), metric.WithDescription("Lookups in the Firestore store's record cache."))
	t.conflicts, errs[1] = m.Int64Counter("sessions.conflicts", metric.WithUnit("{conflict}"), metric.WithDescription("Cached records found out of date because another instance changed the session."))
	return t, errors.Join(errs[:]...)
}

// conflict notes a cached record found out of date, and what follows.
func (t *storeTelemetry) conflict(ctx context.Context, then string) {
	if t == nil {
		return
	}
	t.conflicts.Add(ctx, 1, metric.WithAttributes(attribute.String("sessions.then", then)))
	trace.SpanFromContext(ctx).AddEvent("conflict", trace.WithAttributes(attribute.String("sessions.then", then)))
}

// cacheLookup notes a lookup in a record cache.
func (t *storeTelemetry) cacheLookup(ctx context.Context, hit bool) {
	if t == nil {
		return
	}
	t.cacheLookups.Add(ctx, 1, metric.WithAttributes(attribute.Bool("hit", hit)))
	trace.SpanFromContext(ctx).SetAttributes(attribute.Bool("sessions.cache.hit", hit))
}
