package sessions

import (
	"context"
	"errors"
	"fmt"
)

// Load returns the live session whose id is id, for code that runs outside
// the middleware: a websocket connection's loop, a background job, a
// message consumer. It counts a view, as a request would (coalesced with
// the concurrent requests of the session; a Manager of [Uncounted] routes
// reads the session without counting one), and the session it returns
// works as in a handler: reads, Set and Delete, then [Manager.Save] to
// store the changes, field-level. The other changes take effect in the
// store at once; after Renew, hand the client the new ID yourself, as no
// response carries it; so too when Config.RenewAfter gave the session a
// new id at this Load (its ID is then not id). A move of the session's
// expiry that the view started goes on in the background:
// [Manager.Shutdown] waits for it.
//
// A malformed id, or one of no live session, fails with [ErrNotFound];
// Load never creates a session.
func (m *Manager) Load(ctx context.Context, id string) (*Session, error) {
	if _, ok := parseID(id); !ok {
		return nil, fmt.Errorf("%w: malformed session id", ErrNotFound)
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	vis, n, err := m.open(ctx, Handle(id))
	if err != nil {
		return nil, err
	}
	if vis.newID != "" {
		id = vis.newID
	}
	return &Session{mgr: m, w: &responseWriter{}, id: id, key: vis.key, rec: vis.rec, views: n, slide: vis.slide}, nil
}

// Save stores the changes made to s since [Manager.Load] returned it, and
// ends it: later changes fail with [ErrInactive]. Saving a session that
// changed nothing costs no store call. Sessions of requests are saved by
// the middleware: Save refuses them.
func (m *Manager) Save(ctx context.Context, s *Session) error {
	if s.mgr == nil || s.mgr.shared != m.shared || s.w == nil || s.w.ResponseWriter != nil {
		return errors.New("sessions: Save takes a session that this Manager's Load returned")
	}
	return m.save(ctx, s, true)
}
