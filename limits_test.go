package sessions

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
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
	base := storeBytes
	cases := []struct {
		name     string
		key      string
		at, past any // past nil: one past is the key one byte longer
	}{
		{"document size", "big", make([]byte, MaxDocumentBytes-base-len("big")-1), make([]byte, MaxDocumentBytes-base-len("big"))},
		{"field count", "m", manyFields(maxFields - 1), manyFields(maxFields)},
		{"field path", strings.Repeat("k", maxFieldPathBytes), true, nil},
		{"escaped field path", strings.Repeat("-", maxFieldPathBytes-2), true, nil},
		{"nested field path", "m", map[string]bool{strings.Repeat("k", maxFieldPathBytes-2): true}, map[string]bool{strings.Repeat("k", maxFieldPathBytes-1): true}},
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

// The limits keep room for the store's own fields: the largest session
// that Set accepts, with the longest owner and every attribute, in the
// longest collection name, is a document Firestore takes.
func TestLargestSessionFitsInFirestore(t *testing.T) {
	st, _ := firestoreStore(t, FirestoreConfig{Collection: strings.Repeat("c", maxCollectionLen)})
	now := storeNow()
	rec := testRecord(now)
	rec.Owner = strings.Repeat("o", maxOwnerBytes)
	rec.Idle, rec.BrowserSession, rec.MovedTo, rec.Ended = time.Hour, true, Handle(newID()), EndedByLogout
	rec.Values = nil
	big := MaxDocumentBytes - sizeOf(&rec).bytes - len("big") - 1
	rec.Values = map[string]any{"big": make([]byte, big)}
	if err := sizeOf(&rec).check(); err != nil {
		t.Fatalf("the session is not at the limit: %v", err)
	}
	if _, err := st.Commit(context.Background(), createMutation(Handle(newID()), rec)); err != nil {
		t.Fatalf("a session of exactly %d bytes as Set counts them: %v", MaxDocumentBytes, err)
	}
	rec.Values["big"] = make([]byte, big+1)
	if err := sizeOf(&rec).check(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a byte more: %v, want ErrTooLarge", err)
	}
}
