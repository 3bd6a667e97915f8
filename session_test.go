package sessions

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestSessionValues(t *testing.T) {
	s := &Session{}
	when := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))
	raw := []byte("ab")
	for k, v := range map[string]any{
		"s": "x", "i": 7, "i8": int8(-1), "u32": uint32(9), "u64": uint64(math.MaxInt64),
		"f32": float32(1.5), "b": true, "t": when, "raw": raw,
	} {
		if err := s.Set(k, v); err != nil {
			t.Errorf("Set(%q, %T): %v", k, v, err)
		}
	}
	raw[0] = 'z' // the session keeps its own copy
	if v, ok := s.GetString("s"); !ok || v != "x" {
		t.Errorf("GetString = %q %v", v, ok)
	}
	if v, ok := s.GetInt("i"); !ok || v != 7 {
		t.Errorf("GetInt(i) = %d %v", v, ok)
	}
	if v, ok := s.GetInt("i8"); !ok || v != -1 {
		t.Errorf("GetInt(i8) = %d %v", v, ok)
	}
	if v, ok := s.GetInt("u64"); !ok || v != math.MaxInt64 {
		t.Errorf("GetInt(u64) = %d %v", v, ok)
	}
	if v, ok, err := GetAs[float64](s, "f32"); !ok || err != nil || v != 1.5 {
		t.Errorf("GetAs[float64] = %v %v %v", v, ok, err)
	}
	if v, ok, err := GetAs[float64](s, "i"); !ok || err != nil || v != float64(s.rec.Values["i"].(int64)) {
		t.Errorf("GetAs[float64] of an integer = %v %v %v", v, ok, err)
	}
	if v, ok, err := GetAs[bool](s, "b"); !ok || err != nil || !v {
		t.Errorf("GetAs[bool] = %v %v %v", v, ok, err)
	}
	if v, ok, err := GetAs[time.Time](s, "t"); !ok || err != nil || !v.Equal(when.Truncate(time.Microsecond)) || v.Location() != time.UTC {
		t.Errorf("GetAs[time.Time] = %v %v %v, want %v in UTC at microseconds", v, ok, err, when)
	}
	if v, ok, err := GetAs[[]byte](s, "raw"); !ok || err != nil || string(v) != "ab" {
		t.Errorf("GetAs[[]byte] = %q %v %v", v, ok, err)
	} else {
		v[0] = 'z'
		if again, _, _ := GetAs[[]byte](s, "raw"); string(again) != "ab" {
			t.Error("GetAs shares the session's bytes")
		}
	}
	// A type mismatch is reported, never a silent zero or a panic.
	if v, ok := s.GetInt("s"); ok || v != 0 {
		t.Errorf("GetInt of a string = %d %v, want 0 false", v, ok)
	}
	if _, ok := s.GetString("missing"); ok {
		t.Error("GetString of a missing key reported ok")
	}
	if err := s.Delete("s"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("s"); ok {
		t.Error("deleted key still there")
	}
	if got := strings.Join(s.Keys(), ","); got != "b,f32,i,i8,raw,t,u32,u64" {
		t.Errorf("Keys = %s", got)
	}
	c, ok := s.takeChanges(true)
	if !ok || len(c.Set) != 8 || len(c.Unset) != 1 || c.Unset[0] != "s" {
		t.Errorf("changes = %v %v %v", c.Set, c.Unset, ok)
	}
}

func TestSessionRejectsBadKeysAndTypes(t *testing.T) {
	s := &Session{}
	for _, key := range []string{"", "__name__", "\xff"} {
		if err := s.Set(key, "v"); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Set(%q): %v, want ErrInvalidKey", truncate(key, 20), err)
		}
		if err := s.Delete(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%q): %v, want ErrInvalidKey", truncate(key, 20), err)
		}
	}
	for _, v := range []any{make(chan int), func() {}, complex(1, 2), map[int]string{}, [][]int{{1}}, []any{[]any{}}, uint64(math.MaxUint64), struct{ C chan int }{}} {
		if err := s.Set("k", v); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("Set(k, %T): %v, want ErrUnsupportedType", v, err)
		}
	}
	if len(s.Keys()) != 0 {
		t.Errorf("refused values were stored: %v", s.Keys())
	}
}
