package sessions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Field names of a session document.
const (
	fieldViews    = "views"
	fieldCreated  = "createdAt"
	fieldExpires  = "expiresAt" // the TTL field
	fieldDeadline = "deadlineAt"
	fieldValues   = "values"
)

// FirestoreConfig configures a [FirestoreStore]. The zero value is the
// default.
type FirestoreConfig struct {
	// Collection names the collection of session documents. Default
	// "sessions".
	Collection string

	// HashIDs names each document by the SHA-256 of its session id (hex)
	// instead of the id itself, so that whoever can read the database (a
	// console user, an export, a backup) cannot read live session ids out of
	// it and replay them as cookies.
	HashIDs bool

	// Raw, when set, is a low-level client of the same database as the
	// Client, and visits take two round trips (BatchGetDocuments beginning
	// the transaction, Commit) instead of the three of
	// firestore.Client.RunTransaction, with the same guarantees.
	// [OpenFirestore] sets it up; it stays the caller's to close.
	Raw *apiv1.Client
}

// FirestoreStore keeps sessions in Cloud Firestore, one document a session
// in one collection, so that every instance of an app shares them.
//
// A document holds views (integer), createdAt, expiresAt and deadlineAt
// (timestamps) and values (a map of the application's values). expiresAt is
// the end of the session, moved forward by each visit: a TTL policy on it
// makes Firestore delete ended sessions:
//
//	gcloud firestore fields ttls update expiresAt --collection-group=sessions --enable-ttl
//
// TTL deletion can lag by a day, so an expired document is treated as
// absent on every read all the same.
//
// Counting views is a read-modify-write in a Firestore transaction, retried
// with jittered backoff when Firestore aborts it under contention (from
// other instances: within one process the middleware never runs two
// transactions of one session at once), until the request's deadline.
type FirestoreStore struct {
	client   *firestore.Client
	coll     *firestore.CollectionRef
	hashIDs  bool
	raw      *apiv1.Client // optional: two-round-trip visits
	database string        // projects/P/databases/D, for raw requests
	closers  []func() error
}

// maxTransactionAttempts is high on purpose: the request deadline, not a
// count, bounds the retries of an aborted transaction.
const maxTransactionAttempts = 100

// NewFirestoreStore returns a store that keeps sessions with client, which
// stays the caller's to close. Unless cfg.Raw is set too, a visit costs
// three round trips (RunTransaction's); [OpenFirestore] sets up both
// clients for two.
func NewFirestoreStore(client *firestore.Client, cfg FirestoreConfig) *FirestoreStore {
	if cfg.Collection == "" {
		cfg.Collection = "sessions"
	}
	coll := client.Collection(cfg.Collection)
	return &FirestoreStore{client: client, coll: coll, hashIDs: cfg.HashIDs, raw: cfg.Raw, database: databaseOf(coll.Path)}
}

// doc returns the document of session id. Only well-formed ids reach a
// document path: the store checks them again, whoever calls it.
func (f *FirestoreStore) doc(id string) (*firestore.DocumentRef, error) {
	if _, ok := parseID(id); !ok {
		return nil, fmt.Errorf("%w: malformed session id", ErrNotFound)
	}
	if f.hashIDs {
		sum := sha256.Sum256([]byte(id))
		id = hex.EncodeToString(sum[:])
	}
	return f.coll.Doc(id), nil
}

// Create implements [Store].
func (f *FirestoreStore) Create(ctx context.Context, id string, rec Record) error {
	ref, err := f.doc(id)
	if err != nil {
		return err
	}
	if err := checkChanges(rec.Values, nil); err != nil {
		return err
	}
	_, err = ref.Create(ctx, encode(rec))
	return storeError("create", err)
}

// Visit implements [Store]: one transaction reads the session, adds the
// views and slides the expiry; an expired session is deleted in it.
func (f *FirestoreStore) Visit(ctx context.Context, id string, views int64, now time.Time, idle time.Duration) (Record, error) {
	ref, err := f.doc(id)
	if err != nil {
		return Record{}, err
	}
	if f.raw != nil {
		rec, err := f.rawVisit(ctx, ref.Path, views, now, idle)
		if err != nil && !errors.Is(err, ErrNotFound) {
			err = storeError("visit", err)
		}
		return rec, err
	}
	var rec Record
	var found bool
	err = f.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		found = false
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		rec = decode(snap)
		if !rec.live(now) {
			return tx.Delete(ref, firestore.LastUpdateTime(snap.UpdateTime))
		}
		found = true
		rec.Views += views
		rec.slide(now, idle)
		return tx.Update(ref, []firestore.Update{
			{Path: fieldViews, Value: rec.Views},
			{Path: fieldExpires, Value: rec.Expires},
		})
	}, firestore.MaxAttempts(maxTransactionAttempts))
	if err != nil {
		return Record{}, storeError("visit", err)
	}
	if !found {
		return Record{}, ErrNotFound
	}
	return rec, nil
}

// Update implements [Store] with one field-level update: only the changed
// keys of values are written.
func (f *FirestoreStore) Update(ctx context.Context, id string, set map[string]any, del []string) error {
	ref, err := f.doc(id)
	if err != nil {
		return err
	}
	if err := checkChanges(set, del); err != nil {
		return err
	}
	updates := make([]firestore.Update, 0, len(set)+len(del))
	for k, v := range set {
		updates = append(updates, firestore.Update{FieldPath: firestore.FieldPath{fieldValues, k}, Value: v})
	}
	for _, k := range del {
		updates = append(updates, firestore.Update{FieldPath: firestore.FieldPath{fieldValues, k}, Value: firestore.Delete})
	}
	if len(updates) == 0 {
		return nil
	}
	_, err = ref.Update(ctx, updates)
	return storeError("update", err)
}

// Rename implements [Store] with one transaction that writes without
// reading: create the new document, delete the old one, which must still
// exist.
func (f *FirestoreStore) Rename(ctx context.Context, oldID, newID string, rec Record) error {
	oldRef, err := f.doc(oldID)
	if err != nil {
		return err
	}
	newRef, err := f.doc(newID)
	if err != nil {
		return err
	}
	if err := checkChanges(rec.Values, nil); err != nil {
		return err
	}
	err = f.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		if err := tx.Create(newRef, encode(rec)); err != nil {
			return err
		}
		return tx.Delete(oldRef, firestore.Exists)
	})
	return storeError("rename", err)
}

// Delete implements [Store].
func (f *FirestoreStore) Delete(ctx context.Context, id string) error {
	ref, err := f.doc(id)
	if errors.Is(err, ErrNotFound) {
		return nil // no such document can exist
	}
	_, err = ref.Delete(ctx)
	return storeError("delete", err)
}

// DeleteExpired implements [Store]. A session visited between the query and
// its deletion is kept: each delete is conditional on the document being
// unchanged since the query read it.
func (f *FirestoreStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	const page = 500
	deleted := 0
	for {
		snaps, err := f.coll.Where(fieldExpires, "<=", now).Limit(page).Documents(ctx).GetAll()
		if err != nil {
			return deleted, storeError("delete expired", err)
		}
		if len(snaps) == 0 {
			return deleted, nil
		}
		bw := f.client.BulkWriter(ctx)
		jobs := make([]*firestore.BulkWriterJob, 0, len(snaps))
		for _, snap := range snaps {
			job, err := bw.Delete(snap.Ref, firestore.LastUpdateTime(snap.UpdateTime))
			if err != nil {
				bw.End()
				return deleted, storeError("delete expired", err)
			}
			jobs = append(jobs, job)
		}
		bw.End()
		progress := 0
		for _, job := range jobs {
			_, err := job.Results()
			switch status.Code(err) {
			case codes.OK:
				deleted++
				progress++
			case codes.FailedPrecondition, codes.NotFound:
				// visited or deleted meanwhile
			default:
				return deleted, storeError("delete expired", err)
			}
		}
		if len(snaps) < page || progress == 0 {
			return deleted, nil
		}
	}
}

// encode returns the document fields of rec.
func encode(rec Record) map[string]any {
	values := rec.Values
	if values == nil {
		values = map[string]any{}
	}
	return map[string]any{
		fieldViews:    rec.Views,
		fieldCreated:  rec.Created,
		fieldExpires:  rec.Expires,
		fieldDeadline: rec.Deadline,
		fieldValues:   values,
	}
}

// decode returns the record held by snap. A field that is missing or of
// another type reads as its zero value, so a damaged document reads as an
// expired session.
func decode(snap *firestore.DocumentSnapshot) Record {
	data := snap.Data()
	rec := Record{}
	rec.Views, _ = data[fieldViews].(int64)
	rec.Created, _ = data[fieldCreated].(time.Time)
	rec.Expires, _ = data[fieldExpires].(time.Time)
	rec.Deadline, _ = data[fieldDeadline].(time.Time)
	rec.Values, _ = data[fieldValues].(map[string]any)
	rec.Created, rec.Expires, rec.Deadline = rec.Created.UTC(), rec.Expires.UTC(), rec.Deadline.UTC()
	for k, v := range rec.Values {
		if t, ok := v.(time.Time); ok {
			rec.Values[k] = t.UTC()
		}
	}
	return rec
}

// storeError maps Firestore's answers to this package's errors, keeping the
// cause: errors.Is sees ErrNotFound or ErrExists, status.Code the gRPC code.
func storeError(op string, err error) error {
	switch status.Code(err) {
	case codes.OK:
		if err == nil {
			return nil
		}
	case codes.NotFound:
		return fmt.Errorf("sessions: firestore %s: %w: %w", op, ErrNotFound, err)
	case codes.AlreadyExists:
		return fmt.Errorf("sessions: firestore %s: %w: %w", op, ErrExists, err)
	}
	return fmt.Errorf("sessions: firestore %s: %w", op, err)
}
