package sessions

import (
	"container/list"
	"sync"
	"time"
)

// recordCache keeps the session records a FirestoreStore last read or
// wrote, each with the Firestore version (update time) it had then, least
// recently used first out, within a bound of entries and of estimated bytes.
//
// An entry is only ever a record exactly as Firestore stored it at that
// version: one read, or one write conditional on the version before it.
// Writes made from an entry are conditional on its version, so a stale
// entry (another instance wrote the session since) costs a refused write
// and a read, never a stale value served as current.
//
// A nil *recordCache caches nothing. Records in it are shared: their Values
// maps are never changed once put, and callers copy before handing a record
// out.
type recordCache struct {
	maxEntries, maxBytes int

	mu     sync.Mutex
	bytes  int
	lru    list.List // of *cacheEntry, most recently used at the front
	byName map[string]*list.Element
}

type cacheEntry struct {
	name    string
	rec     Record
	version time.Time
	// contended marks a session that other instances write too: rec is not
	// known at any version, only live (see FirestoreStore.contendedVisit),
	// and version is zero.
	contended bool
	size      int
}

// newRecordCache returns a cache within the bounds of cfg, or nil when cfg
// disables it.
func newRecordCache(cfg FirestoreConfig) *recordCache {
	if cfg.CacheSize < 0 || cfg.CacheBytes < 0 {
		return nil
	}
	c := &recordCache{maxEntries: cfg.CacheSize, maxBytes: cfg.CacheBytes, byName: make(map[string]*list.Element)}
	if c.maxEntries == 0 {
		c.maxEntries = DefaultCacheSize
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultCacheBytes
	}
	return c
}

// get returns the entry of document name, if cached.
func (c *recordCache) get(name string) (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[name]
	if !ok {
		return cacheEntry{}, false
	}
	c.lru.MoveToFront(el)
	return *el.Value.(*cacheEntry), true
}

// put caches rec as document name at version, unless a later version is
// cached already. The cache takes rec.Values over: the caller must not
// change it afterwards.
func (c *recordCache) put(name string, rec Record, version time.Time) {
	if c == nil {
		return
	}
	c.add(&cacheEntry{name: name, rec: rec, version: version, size: recordSize(name, rec)}, false)
}

// markContended caches rec as document name, live but at no known version,
// in place of any entry.
func (c *recordCache) markContended(name string, rec Record) {
	if c == nil {
		return
	}
	c.add(&cacheEntry{name: name, rec: rec, contended: true, size: recordSize(name, rec)}, true)
}

// add caches e, in place of an entry of an earlier version (of any
// version, when replace).
func (c *recordCache) add(e *cacheEntry, replace bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byName[e.name]; ok {
		if old := el.Value.(*cacheEntry); !replace && !old.contended && old.version.After(e.version) {
			return
		}
		c.remove(el)
	}
	if e.size > c.maxBytes {
		return
	}
	c.byName[e.name] = c.lru.PushFront(e)
	c.bytes += e.size
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

// drop forgets document name.
func (c *recordCache) drop(name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byName[name]; ok {
		c.remove(el)
	}
}

func (c *recordCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.byName, e.name)
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

// entryOverhead is the memory of a cached or stored record beside its id
// and values: the entry, its list element, map slot and times.
const entryOverhead = 200

// recordSize estimates the memory an entry of rec takes: its name, the
// fixed fields, and each value's key and content.
func recordSize(name string, rec Record) int {
	n := entryOverhead + len(name)
	for k, v := range rec.Values {
		n += 16 + len(k) + valueSize(v)
	}
	return n
}

// valueSize estimates the memory a value takes, of any type Firestore
// gives back.
func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return 16 + len(v)
	case []byte:
		return 24 + len(v)
	case map[string]any:
		n := 48
		for k, x := range v {
			n += 16 + len(k) + valueSize(x)
		}
		return n
	case []any:
		n := 24
		for _, x := range v {
			n += valueSize(x)
		}
		return n
	}
	return 24
}
