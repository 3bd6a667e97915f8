package sessions

import (
	"container/list"
	"sync"
)

// recordCache keeps the session records a FirestoreStore last read or
// wrote, each with the rev (the count of changes of its values and
// attributes) it had then, least recently used first out, within a bound of
// entries and of estimated bytes.
//
// An entry's values and attributes are exactly as Firestore stored them at
// its rev. A view reads the document's rev back with its count, so an
// entry whose session another instance changed since is noticed at once,
// and never served as current.
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
	name string
	rec  Record
	rev  int64
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
	c := &recordCache{maxEntries: cfg.CacheSize, maxBytes: cfg.CacheBytes, byName: make(map[string]*list.Element)}
	if c.maxEntries == 0 {
		c.maxEntries = defaultCacheSize
	}
	if c.maxBytes == 0 {
		c.maxBytes = defaultCacheBytes
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

// put caches rec as document name at rev, unless a later rev is cached
// already. The cache takes rec.Values over: the caller must not change it
// afterwards.
func (c *recordCache) put(name string, rec Record, rev int64, alongside bool) {
	if c == nil {
		return
	}
	e := &cacheEntry{name: name, rec: rec, rev: rev, alongside: alongside, size: recordSize(name, rec)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byName[e.name]; ok {
		if el.Value.(*cacheEntry).rev > e.rev {
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
