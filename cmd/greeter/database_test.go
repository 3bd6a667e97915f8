package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firestore-sessions/sessions/cmd/greeter/internal/greetertest"
	"github.com/firestore-sessions/sessions/internal/emulator"
)

func TestFirestoreDatabaseSetting(t *testing.T) {
	emu := "FIRESTORE_EMULATOR_HOST=127.0.0.1:8085"
	for _, tt := range []struct {
		env      []string
		database string
		err      string
	}{
		{env: []string{emu}},
		{env: []string{emu, "FIRESTORE_DATABASE=(default)"}},
		{env: []string{emu, "FIRESTORE_DATABASE=sessions-eu"}, database: "sessions-eu"},
		{env: []string{"GOOGLE_CLOUD_PROJECT=my-project", "FIRESTORE_DATABASE=staging"}, database: "staging"},
		{env: []string{emu, "FIRESTORE_DATABASE=Sessions"}, err: `invalid Firestore database id "Sessions"`},
		{env: []string{emu, "FIRESTORE_DATABASE=a/b"}, err: `invalid Firestore database id "a/b"`},
		{env: []string{emu, "FIRESTORE_DATABASE=db"}, err: `invalid Firestore database id "db"`},
		{env: []string{"FIRESTORE_DATABASE=staging"}, err: "FIRESTORE_DATABASE needs Firestore"},
	} {
		cfg, err := parseConfig(nil, env(tt.env...))
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%v: %v, want an error with %q", tt.env, err, tt.err)
		case tt.err == "" && (err != nil || cfg.database != tt.database):
			t.Errorf("%v: database %q, %v; want %q", tt.env, cfg.database, err, tt.database)
		case tt.database != "" && !strings.Contains(cfg.storeName(), "database "+tt.database):
			t.Errorf("%v: store %q does not name the database", tt.env, cfg.storeName())
		}
	}
}

// With FIRESTORE_DATABASE, the sessions are in that database, and only
// there: instances on it share them, the project's default database holds
// none.
func TestFirestoreDatabaseKeepsTheSessions(t *testing.T) {
	host := emulator.Require(t)
	project := emulator.ProjectID(t)
	cfg, err := parseConfig(nil, env("FIRESTORE_EMULATOR_HOST="+host, "GOOGLE_CLOUD_PROJECT="+project, "FIRESTORE_DATABASE=greeter-sessions"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	var pages []string
	var cookieValue string
	for range 2 { // two instances
		store, release, err := openStore(context.Background(), cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		h, _, err := newHandler(store, false, logger, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		if cookieValue != "" {
			r.Header.Set("Cookie", "session_id="+cookieValue)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if c := greetertest.SessionCookie(w.Result()); c != nil {
			cookieValue = c.Value
		}
		v, _ := greetertest.ParsePage(t, w.Body.String())
		pages = append(pages, w.Body.String())
		if want := len(pages); v != want {
			t.Fatalf("instance %d: %q, want %d views", want, w.Body.String(), want)
		}
	}
	docs, err := emulator.Documents(context.Background(), host, project)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 0 {
		t.Errorf("the default database holds %q", docs)
	}
}
