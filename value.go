package sessions

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// maxKeyLen bounds a value key; Firestore allows field paths of 1,500 bytes.
const maxKeyLen = 1024

// checkKey reports whether key can name a value in every store.
func checkKey(key string) error {
	if key == "" || len(key) > maxKeyLen || !utf8.ValidString(key) ||
		(len(key) >= 4 && strings.HasPrefix(key, "__") && strings.HasSuffix(key, "__")) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, truncate(key, 40))
	}
	return nil
}

// normalize converts v to the one type a store gives back for it, so that a
// value reads the same from memory and from Firestore: integers as int64,
// floats as float64, times as UTC with microsecond precision (Firestore's),
// byte slices as a private copy.
func normalize(v any) (any, error) {
	switch v := v.(type) {
	case string, bool, int64, float64:
		return v, nil
	case int:
		return int64(v), nil
	case int8:
		return int64(v), nil
	case int16:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case uint8:
		return int64(v), nil
	case uint16:
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case uint:
		if uint64(v) > math.MaxInt64 {
			return nil, fmt.Errorf("%w: uint %d overflows int64", ErrUnsupportedType, v)
		}
		return int64(v), nil
	case uint64:
		if v > math.MaxInt64 {
			return nil, fmt.Errorf("%w: uint64 %d overflows int64", ErrUnsupportedType, v)
		}
		return int64(v), nil
	case float32:
		return float64(v), nil
	case time.Time:
		return storeTime(v), nil
	case []byte:
		return append([]byte{}, v...), nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
	}
}

// storeTime returns t as stores give it back: UTC, microsecond precision,
// without a monotonic reading.
func storeTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// copyValue returns v, or a copy of it where it is mutable.
func copyValue(v any) any {
	if b, ok := v.([]byte); ok {
		return append([]byte{}, b...)
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

// checkChanges checks the keys and values of an update, for stores that may
// be called by code other than a Session.
func checkChanges(set map[string]any, del []string) error {
	for k, v := range set {
		if err := checkKey(k); err != nil {
			return err
		}
		if _, err := normalize(v); err != nil {
			return fmt.Errorf("value %q: %w", truncate(k, 40), err)
		}
	}
	for _, k := range del {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	return nil
}
