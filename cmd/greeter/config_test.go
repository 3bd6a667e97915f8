package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cloud.google.com/go/firestore"
	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/cmd/greeter/internal/greetertest"
)

// env returns a getenv that sees only vars ("NAME=value").
func env(vars ...string) func(string) string {
	m := map[string]string{}
	for _, v := range vars {
		name, value, _ := strings.Cut(v, "=")
		m[name] = value
	}
	return func(name string) string { return m[name] }
}

// A configuration error is one line on stderr and exit code 2, before
// anything is opened or listened on.
func TestRunRejectsBadConfiguration(t *testing.T) {
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{env: []string{"PORT=abc"}, want: `invalid PORT "abc": want a port number from 1 to 65535`},
		{env: []string{"PORT=99999"}, want: `invalid PORT "99999"`},
		{env: []string{"PORT=0"}, want: `invalid PORT "0"`},
		{env: []string{"PORT=-1"}, want: `invalid PORT "-1"`},
		{env: []string{"PORT=8080"}, args: []string{"-port", "http"}, want: `invalid -port "http"`},
		{env: []string{"GOOGLE_CLOUD_PROJECT=My_Project"}, want: `invalid Google Cloud project id "My_Project"`},
		{args: []string{"-project", "a/b"}, want: `invalid Google Cloud project id "a/b"`},
		{args: []string{"-secure", "-insecure"}, want: "-secure and -insecure contradict each other"},
		{args: []string{"-verbose"}, want: "flag provided but not defined: -verbose"},
		{args: []string{"serve"}, want: `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		code := run(context.Background(), tt.args, env(tt.env...), &stdout, &stderr)
		if code != 2 {
			t.Errorf("%v %v: exit code %d, want 2", tt.env, tt.args, code)
		}
		if msg := stderr.String(); !strings.HasPrefix(msg, "greeter: ") || !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v %v: stderr %q, want one line with %q", tt.env, tt.args, msg, tt.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("%v %v: stdout %q, want nothing", tt.env, tt.args, stdout.String())
		}
	}
}

func TestRunHelp(t *testing.T) {
	var stderr strings.Builder
	if code := run(context.Background(), []string{"-h"}, env(), io.Discard, &stderr); code != 0 {
		t.Errorf("-h: exit code %d, want 0", code)
	}
	if !strings.Contains(stderr.String(), "Usage: greeter") {
		t.Errorf("-h printed %q", stderr.String())
	}
}

func TestStoreSelection(t *testing.T) {
	tests := []struct {
		env       []string
		args      []string
		firestore bool
		project   string
	}{
		{env: nil, firestore: false},
		{env: []string{"PORT=9000"}, firestore: false},
		{env: []string{"FIRESTORE_EMULATOR_HOST=127.0.0.1:8085"}, firestore: true, project: "demo-greeter"},
		{env: []string{"FIRESTORE_EMULATOR_HOST=127.0.0.1:8085", "GOOGLE_CLOUD_PROJECT=my-project"}, firestore: true, project: "my-project"},
		{env: []string{"GOOGLE_CLOUD_PROJECT=my-project"}, firestore: true, project: "my-project"},
		{args: []string{"-project", "other-project"}, env: []string{"GOOGLE_CLOUD_PROJECT=my-project"}, firestore: true, project: "other-project"},
		{env: []string{"GOOGLE_CLOUD_PROJECT=example.com:my-project"}, firestore: true, project: "example.com:my-project"},
		// Cloud Run sets no GOOGLE_CLOUD_PROJECT: the client detects it.
		{env: []string{"K_SERVICE=greeter"}, firestore: true, project: firestore.DetectProjectID},
		{env: []string{"GAE_SERVICE=default", "GOOGLE_CLOUD_PROJECT=my-project"}, firestore: true, project: "my-project"},
	}
	for _, tt := range tests {
		cfg, err := parseConfig(tt.args, env(tt.env...))
		if err != nil {
			t.Errorf("%v %v: %v", tt.env, tt.args, err)
			continue
		}
		if cfg.firestore != tt.firestore || cfg.project != tt.project {
			t.Errorf("%v %v: firestore %v, project %q; want %v, %q", tt.env, tt.args, cfg.firestore, cfg.project, tt.firestore, tt.project)
		}
	}
}

func TestPort(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		args []string
		want int
	}{
		{want: 8080},
		{env: []string{"PORT="}, want: 8080},
		{env: []string{"PORT=9000"}, want: 9000},
		{env: []string{"PORT=9000"}, args: []string{"-port=9001"}, want: 9001},
	} {
		cfg, err := parseConfig(tt.args, env(tt.env...))
		if want := fmt.Sprintf(":%d", tt.want); err != nil || cfg.addr() != want {
			t.Errorf("%v %v: address %q, %v; want %q", tt.env, tt.args, cfg.addr(), err, want)
		}
	}
}

// The cookie is Secure on Cloud Run and App Engine, not locally, and the
// flags override both.
func TestSecureCookie(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		args []string
		want bool
	}{
		{want: false},
		{env: []string{"K_SERVICE=greeter"}, want: true},
		{env: []string{"GAE_SERVICE=default"}, want: true},
		{env: []string{"K_SERVICE=greeter"}, args: []string{"-insecure"}, want: false},
		{args: []string{"-secure"}, want: true},
	} {
		cfg, err := parseConfig(tt.args, env(tt.env...))
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := newHandler(sessions.NewMemoryStore(), cfg.secure, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		c := greetertest.SessionCookie(w.Result())
		name := map[bool]string{true: "__Host-session_id", false: "session_id"}[tt.want]
		if c == nil || c.Secure != tt.want || c.Name != name {
			t.Errorf("%v %v: cookie %v, want %s with Secure=%v", tt.env, tt.args, c, name, tt.want)
		}
	}
}

// The log lines' project is the one configured, else on Google Cloud the
// metadata server's (Cloud Run sets no GOOGLE_CLOUD_PROJECT); off Google
// Cloud there is none.
func TestTraceProject(t *testing.T) {
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/computeMetadata/v1/project/project-id" || r.Header.Get("Metadata-Flavor") != "Google" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Metadata-Flavor", "Google")
		io.WriteString(w, "from-metadata")
	}))
	defer metadata.Close()
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(metadata.URL, "http://"))

	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"K_SERVICE=greeter", "GOOGLE_CLOUD_PROJECT=configured"}, "configured"},
		{[]string{"GAE_SERVICE=default", "GOOGLE_CLOUD_PROJECT=configured"}, "configured"},
		{[]string{"K_SERVICE=greeter"}, "from-metadata"},
		{[]string{"K_SERVICE=greeter", "FIRESTORE_EMULATOR_HOST=127.0.0.1:1"}, "from-metadata"},
		{[]string{"GOOGLE_CLOUD_PROJECT=configured"}, ""},
		{nil, ""},
	} {
		cfg, err := parseConfig(nil, env(c.env...))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := cfg.traceProject(t.Context()); err != nil || got != c.want {
			t.Errorf("%q: trace project %q, %v; want %q", c.env, got, err, c.want)
		}
	}
}
