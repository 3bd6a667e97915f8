package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/firestore-sessions/sessions"
)

// The greeter can take over the sessions of the app of Google's tutorial
// "Handling sessions with Firestore" (Flask, main.py), so that a visitor
// keeps their greeting and view count when the greeter replaces that app
// on the same database. The tutorial keeps a visitor's session in the
// document sessions/<id>, with the fields greeting (a string) and views (an
// integer), where id is the raw value of its cookie session_id (HttpOnly,
// Path /). The greeter's own documents in that collection are named by the
// SHA-256 of its ids, 64 hex digits, so both kinds live side by side.

const (
	// tutorialCookie is the tutorial's cookie, which holds the visitor's
	// session id.
	tutorialCookie = "session_id"
	// tutorialTimeout bounds the read of a tutorial's session, as the
	// Manager's Config.Timeout bounds its own store calls.
	tutorialTimeout = 5 * time.Second
)

// tutorialSessions reads the tutorial's sessions, for the Manager's
// Config.Adopt.
type tutorialSessions struct {
	client *firestore.Client
	coll   *firestore.CollectionRef
	// clear makes the answer expire the tutorial's cookie: set when the
	// greeter's own cookie has another name. When both are session_id,
	// the new session's cookie replaces the tutorial's anyway.
	clear bool
}

// openTutorialSessions makes a Firestore client for project's database
// (its default for "") within startTimeout, to read the tutorial's
// sessions. The library's store reads only its own documents, so the
// greeter needs a client of its own for these. greeterCookie is the name
// of the greeter's session cookie.
func openTutorialSessions(ctx context.Context, project, database, greeterCookie string) (*tutorialSessions, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	type result struct {
		client *firestore.Client
		err    error
	}
	done := make(chan result, 1)
	go func() {
		// The client keeps the context it is made with, for the credentials
		// it refreshes later: give it one that does not end.
		c, err := newFirestoreClient(context.WithoutCancel(ctx), project, database)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("firestore client for the tutorial's sessions: %w", r.err)
		}
		return &tutorialSessions{client: r.client, coll: r.client.Collection(collection), clear: greeterCookie != tutorialCookie}, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.client != nil {
				r.client.Close()
			}
		}()
		return nil, fmt.Errorf("firestore client for the tutorial's sessions: %w", ctx.Err())
	}
}

// newFirestoreClient returns a client of project's database, its default
// for "". Like the library's store, it uses the emulator when
// FIRESTORE_EMULATOR_HOST is set.
func newFirestoreClient(ctx context.Context, project, database string) (*firestore.Client, error) {
	if database == "" {
		return firestore.NewClient(ctx, project)
	}
	return firestore.NewClientWithDatabase(ctx, project, database)
}

// Close closes the client.
func (t *tutorialSessions) Close() error { return t.client.Close() }

// adopt is the Manager's Config.Adopt: it finds the tutorial's session of
// the request's session_id cookie, and returns its greeting and views for
// the new session, which is the tutorial's next view.
//
// It reads only a cookie that is a canonical lower-case version 4 UUID, as
// the tutorial makes them, so that a visitor cannot choose another
// document path. A missing document adopts nothing. A failed read fails the
// request (503, ErrUnavailable), so that a passing outage does not lose the
// visitor's session for good.
//
// The tutorial's document is left as it is. While both apps serve, during
// a migration, a visitor sent back to the tutorial still finds their
// session there. A replayed cookie adopts again, as a new greeter session
// each time, but only while a browser still sends it: the answer expires
// it (or the greeter's cookie of the same name replaces it).
func (t *tutorialSessions) adopt(r *http.Request) (sessions.Adoption, bool, error) {
	id, ok := tutorialID(r)
	if !ok {
		return sessions.Adoption{}, false, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), tutorialTimeout)
	defer cancel()
	// GetAll reports a missing document as one that does not exist, where
	// Get fails with a gRPC code.
	snaps, err := t.client.GetAll(ctx, []*firestore.DocumentRef{t.coll.Doc(id)})
	if err != nil {
		return sessions.Adoption{}, false, fmt.Errorf("%w: reading the tutorial's session: %w", sessions.ErrUnavailable, err)
	}
	if len(snaps) != 1 || !snaps[0].Exists() {
		return sessions.Adoption{}, false, nil
	}
	data := snaps[0].Data()
	var a sessions.Adoption
	if g, ok := data[greetingKey].(string); ok {
		a.Values = map[string]any{greetingKey: g}
	}
	// Without a greeting, the new session keeps the one OnCreate chose.
	a.Views, _ = data["views"].(int64)
	if t.clear {
		a.Clear = &http.Cookie{Name: tutorialCookie, Path: "/"}
	}
	return a, true, nil
}

// tutorialID returns the first of the request's session_id cookies that is
// a session id of the tutorial's.
func tutorialID(r *http.Request) (string, bool) {
	for _, c := range r.CookiesNamed(tutorialCookie) {
		if isUUIDv4(c.Value) {
			return c.Value, true
		}
	}
	return "", false
}

// isUUIDv4 reports whether s is a canonical lower-case version 4 UUID:
// xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx, with x a lower-case hex digit and Y
// one of 8, 9, a, b. Python's str(uuid.uuid4()) is one.
func isUUIDv4(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		case 14:
			if c != '4' {
				return false
			}
		case 19:
			if c != '8' && c != '9' && c != 'a' && c != 'b' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
