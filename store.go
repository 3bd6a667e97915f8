package sessions

import (
	"context"
	"fmt"
	"time"
)

// A Store keeps session records. The middleware is the only caller a Store
// needs to serve; implementations must be safe for concurrent use.
//
// Every method refuses an id for which [ValidID] is false, whatever the
// caller: Visit and Update report [ErrNotFound] (no session can exist under
// it), Delete does nothing, Create and Rename fail, and nothing is written
// under it. A call whose context has ended fails without changing anything.
//
// Two implementations come with the package: [FirestoreStore] for production
// and [MemoryStore] for tests and single-instance development. Both pass the
// behavioural suite sessionstest.TestStore, and so should a third.
type Store interface {
	// Create stores rec as a new session under id. It returns an error
	// wrapping [ErrExists] when a record is already stored under id.
	Create(ctx context.Context, id string, rec Record) error

	// Visit atomically adds views to the view count of the live session
	// stored under id and slides its idle expiry to now+idle (never past
	// rec.Deadline). It returns the record as stored after the change, so the
	// views of this visit are numbered Views-views+1 … Views, and no other
	// visit gets those numbers.
	//
	// A missing or expired record is reported as [ErrNotFound]; an expired
	// record may be deleted on the way, and stays absent either way.
	Visit(ctx context.Context, id string, views int64, now time.Time, idle time.Duration) (Record, error)

	// Update applies the changed values of the live session under id: set
	// stores each key's value, del removes each key. Other keys, the view
	// count and the expiry are left as they are, so concurrent updates of
	// different keys all survive. A missing record is reported as
	// [ErrNotFound].
	Update(ctx context.Context, id string, set map[string]any, del []string) error

	// Rename atomically stores rec under newID and deletes the record under
	// oldID. It backs [Session.Renew].
	Rename(ctx context.Context, oldID, newID string, rec Record) error

	// Delete removes the record under id. Deleting a missing record is not an
	// error.
	Delete(ctx context.Context, id string) error

	// DeleteExpired removes every record whose expiry is at or before now and
	// reports how many it removed. Firestore's TTL policy does this job in
	// production; DeleteExpired is for databases without one (such as the
	// emulator) and for the memory store.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// ValidID reports whether id can name a session: a canonical lower-case
// version 4 UUID (RFC 9562), as the middleware issues them. A [Store]
// refuses every other id, so that no value a visitor chose can reach a
// database key or document path.
func ValidID(id string) bool {
	_, ok := parseID(id)
	return ok
}

// errMalformedID is how stores refuse an id that is not [ValidID].
var errMalformedID = fmt.Errorf("%w: malformed session id", ErrNotFound)

// A Record is one session as a [Store] keeps it.
type Record struct {
	// Views counts the requests made with this session, this one included.
	Views int64
	// Created is when the session was created.
	Created time.Time
	// Expires is when the session ends unless it is used again: the idle
	// expiry, moved forward by every visit but never past Deadline. Firestore
	// stores it as the timestamp field expiresAt, ready for a TTL policy.
	Expires time.Time
	// Deadline is when the session ends however often it is used: the
	// absolute lifetime, fixed at creation.
	Deadline time.Time
	// Values holds the application's data, by key. Its values are of the
	// types listed at [Session.Set].
	Values map[string]any
}

// live reports whether r is still a session at now.
func (r *Record) live(now time.Time) bool {
	return now.Before(r.Expires) && now.Before(r.Deadline)
}

// slide moves the idle expiry of r to now+idle, capped by the deadline.
func (r *Record) slide(now time.Time, idle time.Duration) {
	r.Expires = now.Add(idle)
	if r.Deadline.Before(r.Expires) {
		r.Expires = r.Deadline
	}
}
