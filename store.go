package sessions

import (
	"context"
	"maps"
	"slices"
	"time"
)

// A Store keeps records by key, for a [Manager]. It is mechanism only:
// it reads a record, and applies mutations atomically under preconditions.
// Everything else is the Manager's: whether a session is live (by its
// clock, from [Attrs].Expires and Deadline), when its expiry moves, how a
// lost answer is resolved, and what the keys and values may be. Errors
// cross the seam as this package's sentinels, never as a database's own
// codes.
//
// Keys are made by the Manager: 1 to 100 bytes of lower-case letters,
// digits and '-'. A session is kept under the SHA-256 of its id (see
// [Handle]), never under the id itself, so that whoever reads the
// database learns no id that would work as a cookie.
//
// Values are the encoded tree of [Session.Set]: nil, bool, int64, float64,
// string (valid UTF-8), []byte, time.Time (UTC, microseconds), []any and
// map[string]any of those. The Manager encodes and checks them before they
// reach a store; a store keeps them as they are and gives them back alike.
//
// Implementations must be safe for concurrent use, also by several
// processes sharing the data behind them. Two come with the package:
// [FirestoreStore] for production and [MemoryStore] for tests and a single
// process. sessionstest.TestStore checks any Store; [Mutation.Apply] is
// the rule for what a mutation does to a record, so a store can use it
// instead of writing its own.
type Store interface {
	// Get returns the record stored under key, with its Version, or an
	// error wrapping [ErrNotFound] when there is none.
	Get(ctx context.Context, key string) (Record, error)

	// Commit applies the mutations in order, atomically: all of them, or
	// none when the precondition of one fails. A mutation's precondition
	// is checked against the record as the mutations before it in the
	// same call left it, so one call may delete a record and create
	// another under the same key.
	//
	// It returns, for each mutation, the record as stored right after it,
	// with the Version that the mutation gave it (the zero Record for a
	// deleted one). A store that cannot tell a record's fields without
	// another read may give the record as read after the call instead,
	// with Views as right after the mutation and Version "" unless that
	// version holds every field returned.
	//
	// A failed precondition is an error wrapping [ErrNotFound] (no record
	// where one must be), [ErrExists] (a record where none may be) or
	// [ErrConflict] (no record at the version required, whether another
	// version or none is stored). A store that cannot
	// tell whether a call took effect (its answer was lost, or came too
	// late) returns an error wrapping [ErrUnavailable], and never sends a
	// write again on its own: the Manager resolves it.
	Commit(ctx context.Context, ms ...Mutation) ([]Record, error)
}

// A Record is what a Store keeps under a key: a session, or a record the
// Manager keeps about sessions, such as the list of an owner's sessions.
type Record struct {
	// Views counts the requests made with the session.
	Views int64
	// Values holds the application's values, by key, as [Session.Set]
	// encodes them.
	Values map[string]any
	Attrs
	// Version names the stored state the record shows, in the store's own
	// terms (Firestore: the document's update time). Every mutation gives
	// a record a new version. "" when a store cannot name one.
	Version string
}

// Attrs are the fields of a [Record] that a [Mutation] replaces together.
type Attrs struct {
	// Created is when the session began.
	Created time.Time
	// Renewed is when the session got its current id: at its creation,
	// Renew, Login, or a rotation (see Config.RenewAfter).
	Renewed time.Time
	// Expires is when the session ends unless it is used: the idle expiry,
	// never past Deadline. Firestore's TTL policy deletes by it.
	Expires time.Time
	// Deadline is when the session ends however often it is used.
	Deadline time.Time
	// Idle is the session's own idle timeout; 0 for the Manager's.
	Idle time.Duration
	// BrowserSession is true when the session's cookie has no Max-Age.
	BrowserSession bool
	// Owner is who the session belongs to; "" for none.
	Owner string
	// MovedTo, on a record that no longer holds a session, is the key of
	// the record the session moved to (by Renew, Login or a rotation).
	MovedTo string
	// Ended, on a record that no longer holds a session, says why it ended,
	// for the visitor's next request (see [Session.PreviousEnd]).
	Ended EndReason
}

// A Mutation is one atomic change of the record under Key, for
// [Store.Commit]. The zero value of each field changes nothing.
type Mutation struct {
	// Key names the record.
	Key string

	// The precondition: with Create, no record may be stored under Key;
	// with IfVersion, the record must be stored at that version;
	// otherwise a record must be stored under Key.
	Create    bool
	IfVersion string

	// Delete removes the record. A Delete changes nothing else.
	Delete bool

	// AddViews is added to Views.
	AddViews int64
	// Set stores these values, and Unset removes the values under these
	// keys; other values stay as they are.
	Set   map[string]any
	Unset []string
	// Attrs, when not nil, replaces the record's Attrs.
	Attrs *Attrs
}

// Apply returns rec with m applied (m's precondition aside): the rule that
// every store follows. rec is left as it is: the result's Values are a new
// map, holding copies of m's values. A Delete gives the zero Record.
func (m Mutation) Apply(rec Record) Record {
	if m.Delete {
		return Record{}
	}
	if m.Create {
		rec = Record{}
	}
	rec.Views += m.AddViews
	values := make(map[string]any, len(rec.Values)+len(m.Set))
	maps.Copy(values, rec.Values)
	for k, v := range m.Set {
		values[k] = copyValue(v)
	}
	for _, k := range m.Unset {
		delete(values, k)
	}
	rec.Values = values
	if m.Attrs != nil {
		rec.Attrs = *m.Attrs
	}
	return rec
}

// changesValues reports whether m changes the record's values or Attrs.
func (m *Mutation) changesValues() bool {
	return len(m.Set) > 0 || len(m.Unset) > 0 || m.Attrs != nil
}

// sortedKeys returns the keys of m.Set, sorted, for stores that write
// them in a stable order.
func (m *Mutation) sortedKeys() []string { return slices.Sorted(maps.Keys(m.Set)) }

// live reports whether the record is a session that has not ended at now.
func (r *Record) live(now time.Time) bool {
	return r.MovedTo == "" && r.Ended == "" && now.Before(r.Expires) && now.Before(r.Deadline)
}

// An EndReason says why a session ended, when something other than its
// visitor ended it: see [Session.PreviousEnd].
type EndReason string

// The reasons that a visitor's next request is told (see
// [Session.PreviousEnd]).
const (
	// EndedByLimit: a login of the session's owner elsewhere ended it, to
	// keep within Config.MaxOwnerSessions.
	EndedByLimit EndReason = "limit"
	// EndedByLogout: [Manager.DestroyOwnerSessions] or
	// [Session.DestroyOthers] ended it: a log-out of the owner's sessions
	// elsewhere.
	EndedByLogout EndReason = "logout"
)
