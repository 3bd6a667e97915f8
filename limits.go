package sessions

import (
	"fmt"
	"time"
)

// Firestore's limits on a document, which every store enforces so that a
// value that would not fit in Firestore is refused by Session.Set, before
// the handler answers, and not after the response by the store. Errors
// wrap [ErrTooLarge].
const (
	// MaxDocumentBytes bounds a session's document: its name, its fields
	// (views, times, values) and their names, counted as Firestore counts
	// storage size.
	MaxDocumentBytes = 1 << 20
	// maxFields bounds the fields of a document, every key of every map in
	// it included.
	maxFields = 20_000
	// maxFieldPathBytes bounds the path of a field, "values.key.nested", as
	// Firestore escapes it: a segment that is not a plain identifier is
	// quoted in backquotes, with ` and \ escaped. Firestore's limit of 1,500
	// bytes counts a path as it counts every string, its bytes plus one.
	maxFieldPathBytes = 1499
)

// valuesPathLen is the length of "values.", the start of a value's path.
const valuesPathLen = len(fieldValues) + 1

// escapedLen returns the length of a field path segment as Firestore
// escapes it.
func escapedLen(seg string) int {
	plain := seg != "" && !(seg[0] >= '0' && seg[0] <= '9')
	n := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		case c == '`' || c == '\\':
			plain = false
			n++
		default:
			plain = false
		}
	}
	if plain {
		return len(seg)
	}
	return len(seg) + n + 2
}

// valueBytes returns the storage size of an encoded value, as Firestore
// counts it: strings are their UTF-8 bytes plus one, numbers and times 8,
// booleans and null 1, bytes their length, arrays the sum of their
// elements, maps the sum of their fields (name plus one, and value).
func valueBytes(v any) int {
	switch v := v.(type) {
	case string:
		return len(v) + 1
	case []byte:
		return len(v)
	case int64, float64, time.Time:
		return 8
	case []any:
		n := 0
		for _, x := range v {
			n += valueBytes(x)
		}
		return n
	case map[string]any:
		n := 0
		for k, x := range v {
			n += len(k) + 1 + valueBytes(x)
		}
		return n
	}
	return 1 // bool, nil
}

// valueFields returns how many fields an encoded value adds to a document
// under its own key: one, and one for each key of the maps inside it.
func valueFields(v any) int {
	n := 1
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			n += valueFields(x) - 1
		}
	case map[string]any:
		for _, x := range v {
			n += valueFields(x)
		}
	}
	return n
}

// checkPaths reports a field path inside v, under a path of pathLen bytes,
// that is longer than Firestore allows.
func checkPaths(v any, pathLen int) error {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			if err := checkPaths(x, pathLen); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, x := range v {
			n := pathLen + 1 + escapedLen(k)
			if n > maxFieldPathBytes {
				return fmt.Errorf("%w: key %q…: field path of %d bytes, over %d", ErrTooLarge, truncate(k, 40), n, maxFieldPathBytes)
			}
			if err := checkPaths(x, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkValue checks the limits that one encoded value under key must meet
// whatever the rest of its session holds.
func checkValue(key string, v any) error {
	if err := checkPaths(v, valuesPathLen+escapedLen(key)); err != nil {
		return fmt.Errorf("value %q: %w", truncate(key, 40), err)
	}
	if n := len(key) + 1 + valueBytes(v); n > MaxDocumentBytes-emptyDocumentBytes(defaultCollection) {
		return fmt.Errorf("value %q: %w: %d bytes cannot fit in a document of %d", truncate(key, 40), ErrTooLarge, n, MaxDocumentBytes)
	}
	return nil
}

// A docSize is the size of a session's document as Firestore counts it,
// kept up to date as values change.
type docSize struct {
	bytes  int // of the whole document
	fields int
}

// emptyDocumentBytes is the size of a session document without values in
// collection coll: its name (collection, SHA-256 hex id, 16) and fields
// (views, createdAt, expiresAt, expiresUs, deadlineAt, rev, an empty
// values map), and 32.
func emptyDocumentBytes(coll string) int {
	name := len(coll) + 1 + 64 + 1 + 16
	fields := len(fieldViews) + 1 + 8 +
		len(fieldCreated) + 1 + 8 +
		len(fieldExpires) + 1 + 8 +
		len(fieldExpiresUs) + 1 + 8 +
		len(fieldDeadline) + 1 + 8 +
		len(fieldRev) + 1 + 8 +
		len(fieldValues) + 1
	return name + fields + 32
}

// emptyDocumentFields is the number of fields of a session document
// without values.
const emptyDocumentFields = 7

// sizeOf returns the size of the document of rec in collection coll.
func sizeOf(coll string, rec *Record) docSize {
	d := docSize{bytes: emptyDocumentBytes(coll), fields: emptyDocumentFields}
	// The attributes' fields, when attrFields writes them.
	if rec.Owner != "" {
		d.bytes += len(fieldOwner) + 1 + len(rec.Owner) + 1
		d.fields++
	}
	if rec.Idle > 0 {
		d.bytes += len(fieldIdle) + 1 + 8
		d.fields++
	}
	if rec.BrowserSession {
		d.bytes += len(fieldBrowser) + 1 + 1
		d.fields++
	}
	for k, v := range rec.Values {
		d.add(k, v, 1)
	}
	return d
}

// add adds (sign 1) or removes (sign -1) the value v under key.
func (d *docSize) add(key string, v any, sign int) {
	d.bytes += sign * (len(key) + 1 + valueBytes(v))
	d.fields += sign * valueFields(v)
}

// check reports whether the document fits Firestore's limits.
func (d docSize) check() error {
	switch {
	case d.bytes > MaxDocumentBytes:
		return fmt.Errorf("%w: the session's document would take %d bytes, over %d", ErrTooLarge, d.bytes, MaxDocumentBytes)
	case d.fields > maxFields:
		return fmt.Errorf("%w: the session's document would have %d fields, over %d", ErrTooLarge, d.fields, maxFields)
	}
	return nil
}
