package sessions

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

type item struct {
	SKU      string  `firestore:"sku"`
	Quantity int     `firestore:"qty"`
	Price    float64 `firestore:"price"`
}

type audit struct {
	Changed time.Time `firestore:"changed"`
}

type cart struct {
	audit                      // embedded: its fields are promoted
	Items    []item            `firestore:"items"`
	Coupon   *string           `firestore:"coupon"`
	Tags     map[string]int    `firestore:"tags"`
	Note     string            `firestore:"note,omitempty"`
	Secret   string            `firestore:"-"`
	Raw      []byte            `firestore:"raw"`
	Matrix   []map[string]bool `firestore:"matrix"`
	Untagged uint16
	internal int
}

func sampleCart() cart {
	coupon := "WELCOME"
	return cart{
		audit:    audit{Changed: time.Date(2026, 3, 4, 5, 6, 7, 8009, time.FixedZone("x", 7200))},
		Items:    []item{{"apple", 3, 0.5}, {"pear", 1, 1.25}},
		Coupon:   &coupon,
		Tags:     map[string]int{"gift": 1},
		Secret:   "not stored",
		Raw:      []byte{0, 1, 2},
		Matrix:   []map[string]bool{{"a": true}, {}},
		Untagged: 7,
		internal: 9,
	}
}

// A struct goes in as native fields and comes back as the same struct,
// identically from every store.
func TestStructValuesRoundTrip(t *testing.T) {
	trees := map[string]any{}
	eachStore(t, func(t *testing.T, st Store) {
		h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			if r.URL.Path == "/put" {
				if err := s.Set("cart", sampleCart()); err != nil {
					t.Errorf("Set: %v", err)
				}
				return
			}
			got, ok, err := GetAs[cart](s, "cart")
			if !ok || err != nil {
				t.Fatalf("GetAs = %v %v", ok, err)
			}
			want := sampleCart()
			want.Changed = storeTime(want.Changed)
			want.Secret, want.internal = "", 0
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GetAs = %+v\nwant   %+v", got, want)
			}
			tree, _ := s.Get("cart")
			trees[t.Name()] = tree
			if m, ok := tree.(map[string]any); !ok || m["items"] == nil || m["changed"] == nil || m["Untagged"] != int64(7) {
				t.Errorf("stored as %#v, want a map of the struct's fields", tree)
			} else if _, has := m["note"]; has {
				t.Error("omitempty field stored")
			}
		}))
		v := &visitor{t: t, h: h}
		v.get("/put")
		v.get("/get")
	})
	var first any
	for name, tree := range trees {
		if first == nil {
			first = tree
		} else if !reflect.DeepEqual(first, tree) {
			t.Errorf("%s reads back %#v, another store %#v", name, tree, first)
		}
	}
}

func TestGetAs(t *testing.T) {
	s := &Session{}
	for k, v := range map[string]any{"n": 300, "s": "x", "list": []string{"a", "b"}, "null": nil, "f": 2.5} {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if n, ok, err := GetAs[float32](s, "n"); !ok || err != nil || n != 300 {
		t.Errorf("int as float32 = %v %v %v", n, ok, err)
	}
	if l, ok, err := GetAs[[2]string](s, "list"); !ok || err != nil || l != [2]string{"a", "b"} {
		t.Errorf("list as array = %v %v %v", l, ok, err)
	}
	if p, ok, err := GetAs[*int](s, "null"); !ok || err != nil || p != nil {
		t.Errorf("null as pointer = %v %v %v", p, ok, err)
	}
	if v, ok, err := GetAs[any](s, "list"); !ok || err != nil || !reflect.DeepEqual(v, []any{"a", "b"}) {
		t.Errorf("list as any = %#v %v %v", v, ok, err)
	}
	if _, ok, err := GetAs[int](s, "missing"); ok || err != nil {
		t.Errorf("missing = %v %v, want false nil", ok, err)
	}
	for name, read := range map[string]func() error{
		"string as int":      func() error { _, _, err := GetAs[int](s, "s"); return err },
		"300 as int8":        func() error { _, _, err := GetAs[int8](s, "n"); return err },
		"float as int":       func() error { _, _, err := GetAs[int](s, "f"); return err },
		"list as map":        func() error { _, _, err := GetAs[map[string]string](s, "list"); return err },
		"list too long":      func() error { _, _, err := GetAs[[1]string](s, "list"); return err },
		"string as struct":   func() error { _, _, err := GetAs[item](s, "s"); return err },
		"negative as uint":   func() error { _ = s.Set("neg", -1); _, _, err := GetAs[uint](s, "neg"); return err },
		"list elem as ints:": func() error { _, _, err := GetAs[[]int](s, "list"); return err },
	} {
		if err := read(); !errors.Is(err, ErrWrongType) {
			t.Errorf("%s: %v, want ErrWrongType", name, err)
		}
	}
}

func TestEncodeRules(t *testing.T) {
	type inner struct{ A, B int }
	type twice struct {
		inner
		A string // shallower: wins over inner.A
	}
	got, err := encode(twice{inner{1, 2}, "top"})
	if err != nil || !reflect.DeepEqual(got, map[string]any{"A": "top", "B": int64(2)}) {
		t.Errorf("embedded = %#v %v", got, err)
	}
	type node struct{ Next *node }
	loop := &node{}
	loop.Next = loop
	if _, err := encode(loop); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a value that contains itself: %v, want ErrTooLarge", err)
	}
	if _, err := encode(map[string]any{"x": [][]int{{1}}}); !errors.Is(err, ErrUnsupportedType) || !strings.Contains(err.Error(), "x:") {
		t.Errorf("array in array: %v, want ErrUnsupportedType naming the key", err)
	}
	if got, _ := encode([]int(nil)); got != nil {
		t.Errorf("nil slice = %#v, want nil", got)
	}
}

// Pop and Flashes read a value once; a flash survives the requests that do
// not read it.
func TestPopDeleteAllAndFlashes(t *testing.T) {
	eachStore(t, func(t *testing.T, st Store) {
		var got []string
		h := newManager(t, st, Config{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := FromContext(r.Context())
			switch r.URL.Path {
			case "/add":
				for _, msg := range []string{"saved", "twice"} {
					if err := s.AddFlash(r.Context(), msg); err != nil {
						t.Error(err)
					}
				}
				_ = s.Set("a", 1)
				_ = s.Set("b", 2)
			case "/read":
				var err error
				if got, err = s.Flashes(r.Context()); err != nil {
					t.Error(err)
				}
			case "/pop":
				v, ok, err := s.Pop(r.Context(), "a")
				if !ok || v != int64(1) || err != nil {
					t.Errorf("Pop = %v %v %v", v, ok, err)
				}
				if _, ok, err := s.Pop(r.Context(), "a"); ok || err != nil {
					t.Errorf("popped twice: %v %v", ok, err)
				}
			case "/clear":
				for _, k := range s.Keys() {
					if err := s.Delete(k); err != nil {
						t.Error(err)
					}
				}
			}
			fmt.Fprint(w, strings.Join(s.Keys(), ","))
		}))
		v := &visitor{t: t, h: h}
		v.get("/add")
		if keys := v.get("/other").body; keys != "a,b,flashes,greeting" {
			t.Errorf("keys after a page that reads no flash = %s", keys)
		}
		v.get("/read")
		if !reflect.DeepEqual(got, []string{"saved", "twice"}) {
			t.Errorf("Flashes = %q", got)
		}
		v.get("/read")
		if got != nil {
			t.Errorf("Flashes read twice = %q", got)
		}
		v.get("/pop")
		if keys := v.get("/other").body; keys != "b,greeting" {
			t.Errorf("keys after Pop = %s", keys)
		}
		v.get("/clear")
		if keys := v.get("/other").body; keys != "" {
			t.Errorf("keys after deleting each = %q", keys)
		}
	})
}
