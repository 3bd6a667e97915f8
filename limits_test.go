package sessions

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// nested returns depth maps, one inside the other, around true.
func nested(depth int) any {
	var v any = true
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

// manyFields returns a map of n keys.
func manyFields(n int) map[string]bool {
	m := make(map[string]bool, n)
	for i := range n {
		m[strconv.Itoa(i)] = true
	}
	return m
}

// Each of Firestore's limits: a value at the limit is stored and read back
// (from Firestore itself, on the emulator), one byte past it is refused by
// Set with ErrTooLarge before the handler answers.
func TestFirestoreLimitsCheckedAtSet(t *testing.T) {
	base := emptyDocumentBytes(defaultCollection)
	cases := []struct {
		name     string
		key      string
		at, past any // past nil: one past is the key one byte longer
	}{
		{"document size", "big", make([]byte, MaxDocumentBytes-base-len("big")-1), make([]byte, MaxDocumentBytes-base-len("big"))},
		{"field count", "m", manyFields(maxFields - emptyDocumentFields - 1), manyFields(maxFields - emptyDocumentFields)},
		{"field path", strings.Repeat("k", maxFieldPathBytes-valuesPathLen), true, nil},
		{"escaped field path", strings.Repeat("-", maxFieldPathBytes-valuesPathLen-2), true, nil},
		{"nested field path", "m", map[string]bool{strings.Repeat("k", maxFieldPathBytes-valuesPathLen-2): true}, map[string]bool{strings.Repeat("k", maxFieldPathBytes-valuesPathLen-1): true}},
		{"nesting", "deep", nested(maxDepth), nested(maxDepth + 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, st Store) {
				if fs, ok := st.(*FirestoreStore); ok && c.name == "field path" {
					fs.cache = nil // read the value back from Firestore itself
				}
				var setErr error
				h := newManager(t, st, Config{Logger: testLogger(t), OnCreate: func(*http.Request, *Session) error { return nil }}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					s, _ := FromContext(r.Context())
					switch r.URL.Path {
					case "/at":
						setErr = s.Set(c.key, c.at)
					case "/past":
						key, v := c.key, c.past
						if v == nil {
							key, v = key+"k", true
						}
						setErr = s.Set(key, v)
					case "/check":
						if _, ok := s.Get(c.key); !ok {
							t.Error("the value at the limit was not stored")
						}
					}
				}))
				v := &visitor{t: t, h: h}
				if res := v.get("/at"); setErr != nil || res.code != http.StatusOK {
					t.Fatalf("at the limit: Set = %v, status %d", setErr, res.code)
				}
				v.get("/check")
				other := &visitor{t: t, h: h}
				if res := other.get("/past"); !errors.Is(setErr, ErrTooLarge) || res.code != http.StatusOK {
					t.Errorf("one past the limit: Set = %v, status %d; want ErrTooLarge and the handler's answer", setErr, res.code)
				}
			})
		})
	}
}

// The document size is Firestore's own count, not a safety margin: one
// byte more than the largest value Set accepts is refused by Firestore.
func TestDocumentSizeIsFirestoresCount(t *testing.T) {
	st, _ := firestoreStore(t, FirestoreConfig{})
	id := newID()
	rec := testRecord(storeNow())
	rec.Values = map[string]any{"big": make([]byte, MaxDocumentBytes-emptyDocumentBytes(defaultCollection)-len("big")-1)}
	if err := st.Create(context.Background(), id, rec); err != nil {
		t.Fatalf("a document of exactly %d bytes: %v", MaxDocumentBytes, err)
	}
	ref, _ := st.doc(id)
	fields := encodeRecord(rec, 1)
	fields[fieldValues] = map[string]any{"big": make([]byte, len(rec.Values["big"].([]byte))+1)}
	_, err := ref.Set(context.Background(), fields)
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Firestore took a document one byte larger than MaxDocumentBytes: %v", err)
	}
}

// The memory store refuses what Firestore would, for callers other than a
// Session too.
func TestMemoryStoreEnforcesFirestoresLimits(t *testing.T) {
	st := NewMemoryStore()
	ctx := context.Background()
	id, _ := stored(t, st)
	for name, set := range map[string]map[string]any{
		"fields": {"m": manyFields(maxFields)},
		"path":   {strings.Repeat("k", maxFieldPathBytes): 1},
		"size":   {"a": make([]byte, MaxDocumentBytes/2), "b": make([]byte, MaxDocumentBytes/2)},
	} {
		if err := update(st, ctx, id, set, nil); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: Update = %v, want ErrTooLarge", name, err)
		}
	}
	rec := testRecord(storeNow())
	rec.Values = map[string]any{"m": manyFields(maxFields)}
	if err := st.Create(ctx, newID(), rec); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Create = %v, want ErrTooLarge", err)
	}
}
