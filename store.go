package sessions

import (
	"context"
	"fmt"
	"time"
)

// A Store keeps session records. The Manager is the only caller a Store
// needs to serve; implementations must be safe for concurrent use, also
// when several processes share the data behind them.
//
// A store holds mechanism, not policy: it never decides whether a session
// has ended (the Manager does, by its clock, from [Record.Expires]) and
// never moves an expiry by itself. What it must guarantee is atomicity:
// Visit never loses or repeats a view, Apply with IfVersion never applies
// to a session that changed, and Rename moves exactly the state it was
// given, or nothing.
//
// Every method refuses an id for which [ValidID] is false, whatever the
// caller: Get, Visit and Apply report [ErrNotFound] (no session can exist
// under it), Delete does nothing, Create and Rename fail, and nothing is
// written under it. A call whose context has ended fails without changing
// anything.
//
// Two implementations come with the package: [FirestoreStore] for production
// and [MemoryStore] for tests and single-instance development. Both pass the
// behavioural suite sessionstest.TestStore, and so should a third.
type Store interface {
	// Create stores rec as a new session under id. It returns an error
	// wrapping [ErrExists] when a record is already stored under id. A
	// Create whose answer was lost is resolved while ctx allows: the store
	// recognises its own record and reports success.
	Create(ctx context.Context, id string, rec Record) error

	// Get returns the session stored under id, with its Version. A missing
	// record is reported as [ErrNotFound]; an ended one is returned as it
	// is stored.
	Get(ctx context.Context, id string) (Record, error)

	// Visit atomically adds views to the view count of the session stored
	// under id and returns the record as stored after the change, so the
	// views of this visit are numbered Views-views+1 … Views, and no other
	// visit gets those numbers. It changes nothing else, so counting a view
	// of a session that has ended does not bring it back. Its values and
	// attributes are current: never older than a change that was
	// acknowledged before Visit was called. A missing record is reported
	// as [ErrNotFound].
	Visit(ctx context.Context, id string, views int64) (Record, error)

	// Apply makes the field-level change c to the session stored under id,
	// atomically: only the values and attributes that c names change, so
	// concurrent changes of other keys and attributes all survive. With
	// c.IfVersion set, it applies only if the session is still stored at
	// that version, and fails with [ErrConflict] otherwise. A missing
	// record is reported as [ErrNotFound].
	Apply(ctx context.Context, id string, c Change) (Applied, error)

	// Rename atomically stores rec under newID and deletes the record under
	// oldID, provided that the record under oldID is still at rec.Version
	// ([ErrConflict] if it changed, [ErrNotFound] if it is gone). It backs
	// [Session.Renew]. A Rename whose answer was lost is resolved before it
	// returns, while ctx allows: it reports success only if rec is stored
	// under newID.
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

// A DocumentStore is a [Store] that keeps each session as a document of a
// Firestore collection, as [FirestoreStore] does. The Manager counts the
// document's name in its size, so that Session.Set refuses exactly what
// Firestore would (see [MaxDocumentBytes]); other stores are sized as
// documents of the collection "sessions".
type DocumentStore interface {
	Store
	// Collection returns the name of the collection of session documents.
	Collection() string
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
	// Expires is when the session ends: the idle expiry, which the Manager
	// moves forward as the session is used, never past Deadline. Firestore stores it as the timestamp
	// field expiresAt, ready for a TTL policy.
	Expires time.Time
	// Deadline is when the session ends however often it is used: its
	// absolute lifetime.
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
	// Version names the stored state this record shows, in the store's own
	// terms (Firestore: the document's update time), for [Change].IfVersion
	// and [Store.Rename]; "" when the store cannot name one. Every change
	// of the stored session, a view included, gives it a new version.
	Version string
}

// A Change is a field-level change of one session, applied atomically by
// [Store.Apply]. Only what it names changes.
type Change struct {
	// IfVersion, when set, makes the change conditional on the session
	// still being stored at that version ([Record.Version]).
	IfVersion string
	// Set stores these values, encoded as [Session.Set] encodes them.
	Set map[string]any
	// Delete removes the values under these keys.
	Delete []string
	// Add adds to the integer value under each key, atomically (a missing
	// value counts as 0); [Applied].Sums reports the results.
	Add map[string]int64
	// Owner, when not nil, is the new owner ("" for none).
	Owner *string
	// Idle, Deadline and BrowserSession are the session's new lifetime,
	// when SetLifetime is true.
	Idle           time.Duration
	Deadline       time.Time
	BrowserSession bool
	SetLifetime    bool
	// Expires, when not zero, is the session's new expiry.
	Expires time.Time
}

// empty reports whether c changes nothing.
func (c *Change) empty() bool {
	return len(c.Set) == 0 && len(c.Delete) == 0 && len(c.Add) == 0 && c.Owner == nil && !c.SetLifetime && c.Expires.IsZero()
}

// applyTo applies c to rec, whose Values it replaces with a copy.
func (c *Change) applyTo(rec *Record) {
	values := make(map[string]any, len(rec.Values)+len(c.Set))
	for k, v := range rec.Values {
		values[k] = v
	}
	for k, v := range c.Set {
		values[k] = copyValue(v)
	}
	for _, k := range c.Delete {
		delete(values, k)
	}
	for k, n := range c.Add {
		old, _ := values[k].(int64)
		values[k] = old + n
	}
	rec.Values = values
	c.applyAttrs(rec)
}

// applyAttrs applies the attributes c changes to rec.
func (c *Change) applyAttrs(rec *Record) {
	if c.Owner != nil {
		rec.Owner = *c.Owner
	}
	if c.SetLifetime {
		rec.Idle, rec.Deadline, rec.BrowserSession = c.Idle, c.Deadline, c.BrowserSession
	}
	if !c.Expires.IsZero() {
		rec.Expires = c.Expires
	}
}

// Applied is what [Store.Apply] reports of a change it made.
type Applied struct {
	// Version is the version the change gave the session, when the store
	// knows that the session's record at it is the record the change was
	// applied to with the change; "" otherwise (another change came
	// between, or the store cannot tell).
	Version string
	// Sums holds the value under each key of [Change].Add after the change.
	Sums map[string]int64
}

// live reports whether r is still a session at now.
func (r *Record) live(now time.Time) bool {
	return now.Before(r.Expires) && now.Before(r.Deadline)
}
