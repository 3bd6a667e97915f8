package sessions

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// checkKey reports whether key can name a value in every store: non-empty
// valid UTF-8, not of the form __name__ (reserved by Firestore), and short
// enough for Firestore's field paths (see checkPath).
func checkKey(key string) error {
	if !validFieldName(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, truncate(key, 40))
	}
	if n := escapedLen(key); n > maxFieldPathBytes {
		return fmt.Errorf("%w: key %q…: field path of %d bytes, over %d", ErrTooLarge, truncate(key, 40), n, maxFieldPathBytes)
	}
	return nil
}

// validFieldName reports whether Firestore takes name as the name of a
// field, at any depth: non-empty valid UTF-8, not of the form __name__.
func validFieldName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		!(len(name) >= 4 && strings.HasPrefix(name, "__") && strings.HasSuffix(name, "__"))
}

// errInvalidUTF8 refuses a string that is not valid UTF-8, which Firestore
// refuses to store.
var errInvalidUTF8 = fmt.Errorf("%w: a string that is not valid UTF-8 (strings.ToValidUTF8 repairs one)", ErrUnsupportedType)

// encode converts v to the form a store keeps it in, and gives it back in:
// a tree of nil, bool, int64, float64, string, []byte, time.Time, []any and
// map[string]any, the types Firestore reads back. The memory store keeps
// that same tree, so a value reads back identically from both.
//
// Integers become int64 (unsigned values above math.MaxInt64 are refused),
// floats float64, times UTC with microsecond precision (Firestore's), byte
// slices a private copy. Structs become maps by the rules of the Firestore
// client: exported fields, named by their `firestore:"name"` tag or else
// their Go name, skipped with `firestore:"-"`, left out when empty with
// `firestore:",omitempty"`, embedded structs flattened. Maps need string
// keys; slices and arrays become arrays, and an array may not hold an array
// directly (Firestore's rule). Pointers and interfaces stand for what they
// point to; nil is stored as null.
func encode(v any) (any, error) {
	switch v := v.(type) { // the common cases, without reflection
	case string:
		if !utf8.ValidString(v) {
			return nil, errInvalidUTF8
		}
		return v, nil
	case nil, bool, int64, float64:
		return v, nil
	case int:
		return int64(v), nil
	case time.Time:
		return storeTime(v), nil
	case []byte:
		return append([]byte{}, v...), nil
	}
	return encodeValue(reflect.ValueOf(v), 0, 0)
}

// maxDepth bounds the nesting of maps and arrays in a value: Firestore
// allows 20 levels in a field, and a store may keep the values one level
// down.
const maxDepth = 19

// maxHops bounds the pointers and interfaces followed on the way to one
// value, so that a value that refers to itself through them (var x any;
// x = &x) is refused instead of followed for ever.
const maxHops = 64

var timeType = reflect.TypeFor[time.Time]()

// encodeValue encodes v, found depth maps and arrays and hops pointers and
// interfaces deep in a value.
func encodeValue(v reflect.Value, depth, hops int) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		if hops >= maxHops {
			return nil, errSelfReferent
		}
		return encodeValue(v.Elem(), depth, hops+1)
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return nil, errInvalidUTF8
		}
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() > math.MaxInt64 {
			return nil, fmt.Errorf("%w: %s %d overflows int64", ErrUnsupportedType, v.Type(), v.Uint())
		}
		return int64(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.Struct:
		if v.Type() == timeType {
			return storeTime(v.Interface().(time.Time)), nil
		}
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		m := make(map[string]any)
		for _, f := range structFields(v.Type()) {
			if !validFieldName(f.name) {
				return nil, fmt.Errorf("%w: field name %q (Firestore refuses empty and __name__ field names)", ErrInvalidKey, truncate(f.name, 40))
			}
			fv := v.FieldByIndex(f.index)
			if f.omitEmpty && fv.IsZero() {
				continue
			}
			x, err := encodeValue(fv, depth+1, hops)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			m[f.name] = x
		}
		return m, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%w: %s (map keys must be strings)", ErrUnsupportedType, v.Type())
		}
		if v.IsNil() {
			return nil, nil
		}
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			if k := it.Key().String(); !validFieldName(k) {
				return nil, fmt.Errorf("%w: map key %q (Firestore refuses empty, __name__ and invalid UTF-8 field names)", ErrInvalidKey, truncate(k, 40))
			}
			x, err := encodeValue(it.Value(), depth+1, hops)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Key().String(), err)
			}
			m[it.Key().String()] = x
		}
		return m, nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Kind() == reflect.Slice && v.IsNil() {
				return nil, nil
			}
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return b, nil
		}
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil, nil
		}
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		a := make([]any, v.Len())
		for i := range a {
			x, err := encodeValue(v.Index(i), depth+1, hops)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if _, nested := x.([]any); nested {
				return nil, fmt.Errorf("%w: %s (Firestore arrays cannot hold arrays directly: wrap the inner one in a struct or map)", ErrUnsupportedType, v.Type())
			}
			a[i] = x
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedType, v.Type())
}

var (
	errTooDeep      = fmt.Errorf("%w: maps and arrays nested more than %d deep", ErrTooLarge, maxDepth)
	errSelfReferent = fmt.Errorf("%w: a value that refers to itself, or more than %d pointers deep", ErrUnsupportedType, maxHops)
)

// A structField is how a struct field is stored.
type structField struct {
	name      string
	index     []int
	omitEmpty bool
}

// structFields returns the stored fields of struct type t, by the
// Firestore client's rules (see encode). A name given twice at one depth
// is left out, as encoding/json does.
func structFields(t reflect.Type) []structField {
	var out []structField
	seen := map[string]int{} // name → index in out, or -1 when ambiguous
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("firestore")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int{}, index...), i)
			if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct && sf.Type != timeType {
				walk(sf.Type, idx) // embedded: its fields are promoted
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := structField{name: name, index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}
			switch j, ok := seen[name]; {
			case !ok:
				seen[name] = len(out)
				out = append(out, f)
			case j >= 0 && len(out[j].index) > len(idx):
				out[j] = f // the shallower field wins
			case j >= 0 && len(out[j].index) == len(idx):
				seen[name] = -1
			}
		}
	}
	walk(t, nil)
	kept := out[:0]
	for _, f := range out {
		if seen[f.name] >= 0 {
			kept = append(kept, f)
		}
	}
	return kept
}

// storeTime returns t as stores give it back: UTC, microsecond precision,
// without a monotonic reading.
func storeTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// copyValue returns a copy of an encoded value that shares nothing mutable
// with it.
func copyValue(v any) any {
	switch v := v.(type) {
	case []byte:
		return append([]byte{}, v...)
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = copyValue(x)
		}
		return c
	case map[string]any:
		return copyValues(v)
	}
	return v
}

// copyValues returns a copy of m that shares nothing mutable with it.
func copyValues(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = copyValue(v)
	}
	return c
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// valueSize estimates the memory an encoded value takes, for the bounds
// of the stores that keep records in memory.
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

// equalValues reports whether two encoded values are the same.
func equalValues(a, b any) bool {
	switch a := a.(type) {
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	case []byte:
		b, ok := b.([]byte)
		return ok && string(a) == string(b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			if y, ok := b[k]; !ok || !equalValues(x, y) {
				return false
			}
		}
		return true
	}
	return a == b
}
