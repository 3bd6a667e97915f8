package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
	"google.golang.org/api/option"
)

// TestMain starts the Firestore emulator unless FIRESTORE_EMULATOR_HOST
// names one; tests that need it call firestoreStore, which skips them when
// there is none (and fails them under CI=true).
func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }

// eachStore runs f once per store implementation: the same behaviour is
// expected of each. The Firestore store runs twice: with its record cache,
// and without (every view reads first).
func eachStore(t *testing.T, f func(t *testing.T, st Store)) {
	t.Run("memory", func(t *testing.T) { f(t, NewMemoryStore()) })
	t.Run("firestore", func(t *testing.T) {
		st, _ := firestoreStore(t, FirestoreConfig{})
		f(t, st)
	})
	t.Run("firestore-uncached", func(t *testing.T) {
		st, _ := firestoreStore(t, FirestoreConfig{CacheSize: -1})
		f(t, st)
	})
}

// firestoreStore returns a Firestore store on the emulator, in a project of
// the test's own, and the project id.
func firestoreStore(t *testing.T, cfg FirestoreConfig, opts ...option.ClientOption) (*FirestoreStore, string) {
	t.Helper()
	emulator.Require(t)
	project := emulator.ProjectID(t)
	return openStore(t, project, cfg, opts...), project
}

// openStore returns a Firestore store on project in the emulator: called
// twice with one project, it makes two instances of an app.
func openStore(t *testing.T, project string, cfg FirestoreConfig, opts ...option.ClientOption) *FirestoreStore {
	t.Helper()
	st, err := OpenFirestore(context.Background(), project, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// docName returns the document name of session id in the default
// collection, as the emulator lists it.
func docName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return defaultCollection + "/" + hex.EncodeToString(sum[:])
}

// documents lists every document of project on the emulator.
func documents(t *testing.T, project string) []string {
	t.Helper()
	docs, err := emulator.Documents(context.Background(), emulator.Require(t), project)
	if err != nil {
		t.Fatalf("list documents: %v", err)
	}
	return docs
}

// greetings are the tutorial's.
var greetings = greeterdrive.Greetings

// greet is the tutorial's page: the view count and the session's greeting.
var greet = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	s, ok := FromContext(r.Context())
	if !ok {
		http.Error(w, "no session", http.StatusInternalServerError)
		return
	}
	g, _ := s.GetString("greeting")
	fmt.Fprintf(w, "%d views for %q", s.Views(), g)
})

// pickGreeting is the tutorial's OnCreate: a random greeting, stored with
// the new session.
func pickGreeting(r *http.Request, s *Session) error {
	return s.Set("greeting", greetings[rand.IntN(len(greetings))])
}

// newManager returns a Manager over st for tests: greeting on create, logs
// to the test.
func newManager(t *testing.T, st Store, cfg Config) *Manager {
	t.Helper()
	if cfg.OnCreate == nil {
		cfg.OnCreate = pickGreeting
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := New(st, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// response is what a test sees of one answer.
type response struct {
	code   int
	body   string
	header http.Header
	cookie *http.Cookie // the session cookie set, if any
}

// do sends a request to h with the raw Cookie header cookie ("" for none).
func do(t *testing.T, h http.Handler, method, path, cookie string) response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	out := response{code: res.StatusCode, body: w.Body.String(), header: res.Header}
	for _, c := range res.Cookies() {
		if c.Name == DefaultCookieName || c.Name == defaultPlainCookieName || strings.HasPrefix(c.Name, "__Host-") {
			out.cookie = c
		}
	}
	return out
}

// visitor is a browser with one cookie jar entry: the session cookie.
type visitor struct {
	t  *testing.T
	h  http.Handler
	id string
}

func (v *visitor) get(path string) response {
	v.t.Helper()
	cookie := ""
	if v.id != "" {
		cookie = DefaultCookieName + "=" + v.id
	}
	res := do(v.t, v.h, http.MethodGet, path, cookie)
	if res.cookie != nil {
		if res.cookie.MaxAge < 0 {
			v.id = ""
		} else {
			v.id = res.cookie.Value
		}
	}
	return res
}

// views parses the view count out of a page of greet's shape, `N views
// for "GREETING"`: the greeter's page text.
func views(t *testing.T, body string) int {
	t.Helper()
	n, _, err := greeterdrive.ParseText(body)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// greeting parses the greeting out of greet's page ("" if it does not
// parse).
func greeting(body string) string {
	_, g, _ := greeterdrive.ParseText(body)
	return g
}

func sortedCopy(s []int) []int {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// testLogger returns a logger that writes to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		t.Log(strings.TrimSpace(string(p)))
		return len(p), nil
	}), nil))
}
