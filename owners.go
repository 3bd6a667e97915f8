package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
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

// An OwnedSession describes one session of an owner without giving away
// its id.
type OwnedSession struct {
	// Handle names the session for DestroyOwnerSessions: see [Handle].
	Handle string
	// Created is when the session was created.
	Created time.Time
	// LastSeen is when the session was last used, to the microsecond; for a
	// session that reached its absolute deadline's idle window, the earliest
	// it may have been.
	LastSeen time.Time
	// Expires is when the session ends unless it is used again.
	Expires time.Time
	// Values are the session's values, such as a user agent the app stored
	// at login to tell devices apart.
	Values map[string]any
}

// Handle returns the public name of session id: the SHA-256 (hex) of the
// id, which is also its Firestore document id. A handle can be shown to
// the session's owner and sent back to end the session, but cannot be used
// as a session cookie.
func Handle(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// ownedSession describes the session of handle stored as rec.
func ownedSession(handle string, rec Record, idle time.Duration) OwnedSession {
	if rec.Idle > 0 {
		idle = rec.Idle
	}
	return OwnedSession{
		Handle:   handle,
		Created:  rec.Created,
		LastSeen: rec.Expires.Add(-idle),
		Expires:  rec.Expires,
		Values:   rec.Values,
	}
}

// ErrNoOwnerIndex means the Manager's store cannot list sessions by owner.
var ErrNoOwnerIndex = errors.New("sessions: the store is not an OwnerIndex")

// MaxOwnerBytes bounds an owner id.
const MaxOwnerBytes = 1024

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
	return s.apply(ctx, "set owner", Change{SetOwner: true, Owner: owner})
}

// checkOwner reports whether owner can be a session's owner.
func checkOwner(owner string) error {
	if len(owner) > MaxOwnerBytes || !utf8.ValidString(owner) {
		return fmt.Errorf("sessions: an owner must be valid UTF-8 of at most %d bytes", MaxOwnerBytes)
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
// [Session.SetOwner]), for a page that lists a user's devices. It fails
// with [ErrNoOwnerIndex] when the store cannot list them.
func (m *Manager) OwnerSessions(ctx context.Context, owner string) ([]OwnedSession, error) {
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
	var list []OwnedSession
	for handle, rec := range owned {
		if rec.live(now) {
			list = append(list, ownedSession(handle, rec, m.cfg.Lifetime.Idle))
		}
	}
	return list, nil
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
