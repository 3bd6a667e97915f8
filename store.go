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
	// stored under id and slides its idle expiry to now+idle, or now plus
	// the record's own Idle when it has one (never past its Deadline). It returns the record as stored after the change, so the
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

	// SetAttrs replaces the attributes of the live session under id: its
	// owner, its own idle timeout, its expiry and deadline, its cookie kind.
	// Its values and view count are left as they are. A missing record is
	// reported as [ErrNotFound].
	SetAttrs(ctx context.Context, id string, a Attrs) error

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
	// Values holds the application's data, by key, as [Session.Set]
	// encodes it.
	Values map[string]any
	// Owner is who the session belongs to (see [Session.SetOwner]); ""
	// for none.
	Owner string
	// Idle is the session's own idle timeout (see [Session.SetLifetime]);
	// 0 for the Manager's.
	Idle time.Duration
	// BrowserSession is true when the session's cookie has no Max-Age, so
	// that the browser drops it when it closes.
	BrowserSession bool
}

// Attrs are what a session holds beside its values and view count, changed
// together by [Store.SetAttrs].
type Attrs struct {
	Owner             string
	Idle              time.Duration
	Expires, Deadline time.Time
	BrowserSession    bool
}

// attrs returns the attributes of r.
func (r *Record) attrs() Attrs {
	return Attrs{Owner: r.Owner, Idle: r.Idle, Expires: r.Expires, Deadline: r.Deadline, BrowserSession: r.BrowserSession}
}

// setAttrs sets the attributes of r.
func (r *Record) setAttrs(a Attrs) {
	r.Owner, r.Idle, r.Expires, r.Deadline, r.BrowserSession = a.Owner, a.Idle, a.Expires, a.Deadline, a.BrowserSession
}

// live reports whether r is still a session at now.
func (r *Record) live(now time.Time) bool {
	return now.Before(r.Expires) && now.Before(r.Deadline)
}

// slide moves the idle expiry of r to now+idle, or now plus the session's
// own idle timeout, capped by the deadline.
func (r *Record) slide(now time.Time, idle time.Duration) {
	if r.Idle > 0 {
		idle = r.Idle
	}
	r.Expires = now.Add(idle)
	if r.Deadline.Before(r.Expires) {
		r.Expires = r.Deadline
	}
}
