package reliability

import (
	"context"
	"fmt"
	"html"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions"
)

// inProcess is a greeter-like server built from the library inside the
// test binary, where what the greeter binary hides can be observed
// (runtime.NumGoroutine, the race detector on the library's code). Like the
// greeter, it keeps sessions with sessions.OpenFirestore (two-round-trip
// visits, firestore_tx.go) and the default Config.
type inProcess struct {
	URL  string
	srv  *httptest.Server
	logs *syncBuffer
}

var greetings = []string{"Hello World", "Hallo Welt", "Ciao Mondo", "Salut le Monde", "Hola Mundo"}

// startInProcess serves the greeter's page with sessions in project on the
// emulator at host, with the library's default configuration but for an
// insecure cookie (plain HTTP), as the greeter does locally.
func startInProcess(t testing.TB, host, project string) *inProcess {
	t.Helper()
	// OpenFirestore connects where FIRESTORE_EMULATOR_HOST says.
	t.Setenv("FIRESTORE_EMULATOR_HOST", host)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := sessions.OpenFirestore(ctx, project, sessions.FirestoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	m, err := sessions.New(store, sessions.Config{
		CookieName: cookieName,
		Insecure:   true,
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		OnCreate: func(r *http.Request, s *sessions.Session) error {
			return s.Set("greeting", greetings[rand.IntN(len(greetings))])
		},
	})
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", m.Middleware(http.HandlerFunc(greet)))
	srv := httptest.NewUnstartedServer(mux)
	// As the greeter's server.
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ReadTimeout = 10 * time.Second
	srv.Config.WriteTimeout = 20 * time.Second
	srv.Config.ErrorLog = log.New(logs, "http: ", 0) // where net/http reports a handler's panic
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := store.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
		if t.Failed() {
			t.Logf("in-process server logs (tail):\n%s", tail(logs.String(), 40))
		}
	})
	return &inProcess{URL: srv.URL, srv: srv, logs: logs}
}

// greet is the greeter's page.
func greet(w http.ResponseWriter, r *http.Request) {
	s, ok := sessions.FromContext(r.Context())
	if !ok {
		http.Error(w, "no session", http.StatusInternalServerError)
		return
	}
	greeting, ok := s.GetString("greeting")
	if !ok {
		greeting = greetings[0]
		if err := s.Set("greeting", greeting); err != nil {
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<body>%d views for "%s"</body>`, s.Views(), html.EscapeString(greeting))
}

// checkNoPanic fails the test if the server's logs show a panic.
func (p *inProcess) checkNoPanic(t testing.TB) {
	t.Helper()
	if out := p.logs.String(); strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Errorf("in-process server logs show a panic:\n%s", tail(out, 60))
	}
}

// syncBuffer is a strings.Builder safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
