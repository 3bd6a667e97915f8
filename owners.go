package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"unicode/utf8"
)

// An OwnerIndex is a [Store] that finds sessions by owner, for "your
// devices" pages and "log out everywhere". Both stores of this package are
// OwnerIndexes: the Firestore store with one query on the owner field's
// single-field index, the memory store with a map.
type OwnerIndex interface {
	// Owned returns the sessions stored with owner as their Owner, ended
	// ones included, by handle (see [Handle]).
	Owned(ctx context.Context, owner string) (map[string]Record, error)

	// DeleteOwned deletes the sessions bound to owner whose handles are
	// listed, or all of them when handles is nil, and reports how many it
	// deleted. When handles is nil, a session that is renamed
	// ([Store.Rename]) while DeleteOwned runs is deleted too, under
	// whichever id it then has.
	DeleteOwned(ctx context.Context, owner string, handles []string) (int, error)
}

// Handle returns the public name of session id: the SHA-256 (hex) of the
// id, which is also its Firestore document id. A handle can be shown to
// the session's owner and sent back to end the session, but cannot be used
// as a session cookie.
func Handle(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// ErrNoOwnerIndex means the Manager's store cannot list sessions by owner.
var ErrNoOwnerIndex = errors.New("sessions: the store is not an OwnerIndex")

// maxOwnerBytes bounds an owner id.
const maxOwnerBytes = 1024

// SetOwner binds the session to owner, typically a user id at login
// ([Session.Login] does it together with Renew and SetLifetime), so that
// [Manager.OwnerSessions] lists it and [Manager.DestroyOwnerSessions] can
// end it from any instance. "" unbinds it. The change is stored at once,
// and changes the owner alone.
func (s *Session) SetOwner(ctx context.Context, owner string) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply(ctx, "set owner", Change{Owner: &owner})
}

// checkOwner reports whether owner can be a session's owner.
func checkOwner(owner string) error {
	if len(owner) > maxOwnerBytes || !utf8.ValidString(owner) {
		return fmt.Errorf("sessions: an owner must be valid UTF-8 of at most %d bytes", maxOwnerBytes)
	}
	return nil
}

// Owner returns the owner the session is bound to, "" for none.
func (s *Session) Owner() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Owner
}

// Handle returns the session's public name (see [Handle]), "" for a lazy
// session that has no id yet.
func (s *Session) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == "" {
		return ""
	}
	return Handle(s.id)
}

// OwnerSessions returns the live sessions bound to owner (see
// [Session.SetOwner]), by handle (see [Handle]), for a page that lists a
// user's devices: the values show what the app stored at login (a user
// agent, say), Created and Expires when the session began and when it
// ends unless used, and the handle of the request's own is s.Handle(). It
// fails with [ErrNoOwnerIndex] when the store cannot list them.
func (m *Manager) OwnerSessions(ctx context.Context, owner string) (map[string]Record, error) {
	if m.owners == nil {
		return nil, ErrNoOwnerIndex
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	owned, err := m.owners.Owned(ctx, owner)
	if err != nil {
		return nil, wrap("owner sessions", err)
	}
	now := m.now()
	maps.DeleteFunc(owned, func(_ string, rec Record) bool { return !rec.live(now) })
	return owned, nil
}

// DestroyOwnerSessions ends sessions bound to owner, wherever they are in
// use: those named by handles (see [Session.Handle]), or all of them when
// no handle is given. It reports how many it ended. Use it to log a user
// out everywhere after a password change or a lost device; a request of
// an ended session gets a new session.
//
// The calling request's own session is ended too when it is among them:
// call its Destroy as well, so its cookie is expired in the answer.
func (m *Manager) DestroyOwnerSessions(ctx context.Context, owner string, handles ...string) (int, error) {
	if m.owners == nil {
		return 0, ErrNoOwnerIndex
	}
	if owner == "" {
		return 0, errors.New("sessions: DestroyOwnerSessions needs an owner")
	}
	if handles != nil && len(handles) == 0 {
		return 0, nil // an empty list names no session; only no list means all
	}
	ctx, cancel := m.storeContext(ctx)
	defer cancel()
	n, err := m.owners.DeleteOwned(ctx, owner, handles)
	if err != nil {
		return n, wrap("destroy owner sessions", err)
	}
	return n, nil
}
