package sessions

import (
	"fmt"
	"time"
)

// Firestore's limits on a document, which the Manager enforces for every
// store, so that a value that would not fit in Firestore is refused by
// Session.Set, before the handler answers, and not after the response by
// the store. A part of each limit is kept for the store's own use (its
// fields and the document's name), so that the limits do not depend on
// the store. Errors wrap [ErrTooLarge].
const (
	// MaxDocumentBytes bounds a session: its values (keys and contents,
	// counted as Firestore counts storage size), its owner, and 1 KiB kept
	// for the store's own fields and the document's name.
	MaxDocumentBytes = 1 << 20
	// storeBytes is what a store may take of MaxDocumentBytes.
	storeBytes = 1 << 10
	// maxFields bounds the fields of a session's values, every key of
	// every map in them counted: Firestore's 20,000 a document, less 100
	// for the store's own fields.
	maxFields = 20_000 - 100
	// maxFieldPathBytes bounds the path of a value, "key.nested.deeper",
	// as Firestore escapes it: a segment that is not a plain identifier is
	// quoted in backquotes, with ` and \ escaped. Firestore's limit of
	// 1,500 bytes counts a path as it counts every string, its bytes plus
	// one; a store may put up to 16 bytes before it ("values." in
	// Firestore).
	maxFieldPathBytes = 1499 - 16
)

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
	if err := checkPaths(v, escapedLen(key)); err != nil {
		return fmt.Errorf("value %q: %w", truncate(key, 40), err)
	}
	if n := len(key) + 1 + valueBytes(v); n > MaxDocumentBytes-storeBytes {
		return fmt.Errorf("value %q: %w: %d bytes cannot fit in a session of %d", truncate(key, 40), ErrTooLarge, n, MaxDocumentBytes)
	}
	return nil
}

// A docSize is the size of a session as Firestore counts it, kept up to
// date as values change.
type docSize struct {
	bytes  int // of the whole session
	fields int // of its values
}

// sizeOf returns the size of the session rec.
func sizeOf(rec *Record) docSize {
	d := docSize{bytes: storeBytes}
	if rec.Owner != "" {
		d.bytes += len(rec.Owner) + 1
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

// check reports whether the session fits Firestore's limits.
func (d docSize) check() error {
	switch {
	case d.bytes > MaxDocumentBytes:
		return fmt.Errorf("%w: the session would take %d bytes, over %d", ErrTooLarge, d.bytes, MaxDocumentBytes)
	case d.fields > maxFields:
		return fmt.Errorf("%w: the session's values would have %d fields, over %d", ErrTooLarge, d.fields, maxFields)
	}
	return nil
}
