package sessions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Field names of a session document.
const (
	fieldViews    = "views"
	fieldCreated  = "createdAt"
	fieldExpires  = "expiresAt" // the TTL field
	fieldDeadline = "deadlineAt"
	fieldValues   = "values"
	fieldOwner    = "owner" // indexed: sessions are listed by owner
	fieldIdle     = "idleSeconds"
	fieldBrowser  = "browserSession"
)

// FirestoreConfig configures a [FirestoreStore]. The zero value is the
// default.
type FirestoreConfig struct {
	// Database names the project's Firestore database that keeps the
	// sessions, for a project with several (Firestore's named databases),
	// such as one database per environment or region. Default: the
	// project's "(default)" database. The Firestore emulator keeps each
	// database id's documents apart too, so tests can give each test its
	// own database.
	Database string

	// Collection names the collection of session documents. Default
	// "sessions".
	Collection string

	// CacheSize bounds how many session records the store keeps in memory,
	// with their Firestore versions, so that a returning view costs one
	// round trip instead of two. Default 10,000; negative: no cache (every
	// view reads its session first).
	CacheSize int

	// CacheBytes bounds the memory those records take, as estimated from
	// their ids and values. Default 16 MiB; a record larger than the bound is
	// not cached.
	CacheBytes int
}

// Defaults of [FirestoreConfig].
const (
	DefaultCollection = "sessions"
	DefaultCacheSize  = 10_000
	DefaultCacheBytes = 16 << 20
)

// FirestoreStore keeps sessions in Cloud Firestore, one document a session
// in one collection, so that every instance of an app shares them. Make one
// with [OpenFirestore].
//
// A document holds views (integer), createdAt, expiresAt and deadlineAt
// (timestamps) and values (a map of the application's values). It is named
// by the SHA-256 (hex) of the session id, so that whoever can read the
// database (a console user, an export, a backup) cannot read live session
// ids out of it and replay them as cookies. expiresAt is the end of the
// session, moved forward by each visit: a TTL policy on it makes Firestore
// delete ended sessions (see the README for the TTL and index set-up). TTL
// deletion can lag by a day, so an expired document is treated as absent on
// every read all the same.
//
// # Views: one round trip, no lock
//
// A view is a read-modify-write, run optimistically: the write is a Commit
// conditional on the document's update time as it was read (a
// compare-and-set on its version), so it succeeds only if nothing changed
// the session in between. The store keeps recently used records in memory
// with their versions ([FirestoreConfig].CacheSize), so a returning view on
// a warm instance is that one Commit. A session this instance has not seen
// is read first: two round trips.
//
// When the conditional Commit finds that another instance wrote the session
// in between, the views are counted with Firestore's atomic increment,
// which cannot conflict, and the session is marked contended: while it
// stays so, its visits send the increment and a read of its current values
// side by side, one round trip, until a read shows that nobody else wrote
// it. A view thus never costs more than three round trips and never waits,
// so instances sharing a hot session cannot starve each other. Nothing is
// locked, so a client that dies between read and write leaves nothing
// behind.
//
// Within one process the middleware never runs two visits of one session at
// once (it coalesces them), so conflicts come only from other instances.
type FirestoreStore struct {
	client   *firestore.Client
	raw      *apiv1.Client // visit commits, sent once: see commit
	coll     *firestore.CollectionRef
	database string // projects/P/databases/D
	cache    *recordCache
	tel      *telemetry // set by the Manager that uses the store; nil: none
	closers  []func() error
}

// report makes f report its cache lookups and conflicts to t.
func (f *FirestoreStore) report(t *telemetry) { f.tel = t }

// doc returns the document of session id. Only well-formed ids reach a
// document path: the store checks them again, whoever calls it.
func (f *FirestoreStore) doc(id string) (*firestore.DocumentRef, error) {
	if !ValidID(id) {
		return nil, errMalformedID
	}
	return f.coll.Doc(Handle(id)), nil
}

// Create implements [Store] with one create-only write.
func (f *FirestoreStore) Create(ctx context.Context, id string, rec Record) error {
	ref, err := f.doc(id)
	if err != nil {
		return err
	}
	if rec.Values, err = f.checkRecord(rec); err != nil {
		return err
	}
	wr, err := ref.Create(ctx, encodeRecord(rec))
	if err != nil {
		return storeError("create", err)
	}
	rec.Values = copyValues(rec.Values)
	f.cache.put(ref.Path, rec, wr.UpdateTime)
	return nil
}

// Visit implements [Store]: see the type's documentation for its round
// trips.
func (f *FirestoreStore) Visit(ctx context.Context, id string, views int64, now time.Time, idle time.Duration) (Record, error) {
	ref, err := f.doc(id)
	if err != nil {
		return Record{}, err
	}
	rec, err := f.visit(ctx, ref, views, now, idle)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Record{}, err
		}
		return Record{}, storeError("visit", err)
	}
	rec.Values = copyValues(rec.Values) // the cache keeps its own
	return rec, nil
}

func (f *FirestoreStore) visit(ctx context.Context, ref *firestore.DocumentRef, views int64, now time.Time, idle time.Duration) (Record, error) {
	e, ok := f.cache.get(ref.Path)
	if f.cache != nil {
		f.tel.cacheLookup(ctx, ok)
	}
	if ok && e.rec.live(now) {
		if e.contended {
			return f.contendedVisit(ctx, ref, e.rec, views, now, idle)
		}
		rec, err := f.commitVisit(ctx, ref.Path, e, views, now, idle)
		if !conflict(err) {
			return rec, err
		}
		// Another instance wrote the session since this one cached it.
		f.tel.conflict(ctx, "increment")
		return f.contendedVisit(ctx, ref, e.rec, views, now, idle)
	}
	snap, err := ref.Get(ctx)
	if status.Code(err) == codes.NotFound {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, err
	}
	e = cacheEntry{rec: decode(snap.Data()), version: snap.UpdateTime}
	if !e.rec.live(now) {
		return Record{}, ErrNotFound // TTL or DeleteExpired removes it
	}
	rec, err := f.commitVisit(ctx, ref.Path, e, views, now, idle)
	if !conflict(err) {
		return rec, err
	}
	// Another instance wrote it between the read and the commit: count the
	// views on the record just read, with an increment that cannot
	// conflict.
	f.tel.conflict(ctx, "increment")
	rec, _, err = f.incrementVisit(ctx, ref.Path, e.rec, views, now, idle)
	if err == nil {
		f.cache.markContended(ref.Path, rec)
	}
	return rec, err
}

// contendedVisit counts views of a session that other instances are
// writing too, in one round trip that cannot conflict: the increment, and
// beside it a read for the session's current values. known is the session
// as this instance last knew it, which proves it live: its expiry only
// moves forward and its deadline is fixed, and a session deleted since
// fails the increment's precondition. When the read saw exactly the
// increment's version, the record is exact again, and cached as such.
func (f *FirestoreStore) contendedVisit(ctx context.Context, ref *firestore.DocumentRef, known Record, views int64, now time.Time, idle time.Duration) (Record, error) {
	var snap *firestore.DocumentSnapshot
	var readErr error
	read := make(chan struct{})
	go func() {
		defer close(read)
		snap, readErr = ref.Get(ctx)
	}()
	counted, version, err := f.incrementVisit(ctx, ref.Path, known, views, now, idle)
	<-read
	if err == nil && status.Code(readErr) == codes.NotFound {
		err = ErrNotFound // deleted right after the increment
	} else if err == nil {
		err = readErr
	}
	if err != nil {
		f.cache.drop(ref.Path)
		return Record{}, err
	}
	rec := decode(snap.Data())
	rec.Views = counted.Views
	if rec.Expires.Before(counted.Expires) {
		rec.Expires = counted.Expires
	}
	if snap.UpdateTime.Equal(version) {
		f.cache.put(ref.Path, rec, version)
	} else {
		f.cache.markContended(ref.Path, rec)
	}
	return rec, nil
}

// commitVisit counts views of the session as e holds it, with a Commit
// conditional on e's version, and caches the result.
func (f *FirestoreStore) commitVisit(ctx context.Context, name string, e cacheEntry, views int64, now time.Time, idle time.Duration) (Record, error) {
	rec := e.rec
	rec.Views += views
	rec.slide(now, idle)
	res, err := f.commit(ctx, &pb.Write{
		Operation: &pb.Write_Update{Update: &pb.Document{Name: name, Fields: map[string]*pb.Value{
			fieldViews:   {ValueType: &pb.Value_IntegerValue{IntegerValue: rec.Views}},
			fieldExpires: {ValueType: &pb.Value_TimestampValue{TimestampValue: timestamppb.New(rec.Expires)}},
		}}},
		UpdateMask:      &pb.DocumentMask{FieldPaths: []string{fieldViews, fieldExpires}},
		CurrentDocument: &pb.Precondition{ConditionType: &pb.Precondition_UpdateTime{UpdateTime: timestamppb.New(e.version)}},
	})
	if err != nil {
		f.cache.drop(name)
		return Record{}, err
	}
	f.cache.put(name, rec, res.GetUpdateTime().AsTime())
	return rec, nil
}

// incrementVisit counts views of the live session rec with Firestore's
// atomic increment, which no concurrent write can make fail, and returns
// rec with the new count and expiry, and the version the write made. The
// version may hold other writers' changes too, so rec is not the record at
// that version.
func (f *FirestoreStore) incrementVisit(ctx context.Context, name string, rec Record, views int64, now time.Time, idle time.Duration) (Record, time.Time, error) {
	rec.slide(now, idle)
	res, err := f.commit(ctx, &pb.Write{
		Operation: &pb.Write_Update{Update: &pb.Document{Name: name, Fields: map[string]*pb.Value{
			fieldExpires: {ValueType: &pb.Value_TimestampValue{TimestampValue: timestamppb.New(rec.Expires)}},
		}}},
		UpdateMask: &pb.DocumentMask{FieldPaths: []string{fieldExpires}},
		UpdateTransforms: []*pb.DocumentTransform_FieldTransform{{
			FieldPath:     fieldViews,
			TransformType: &pb.DocumentTransform_FieldTransform_Increment{Increment: &pb.Value{ValueType: &pb.Value_IntegerValue{IntegerValue: views}}},
		}},
		CurrentDocument: &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: true}},
	})
	if conflict(err) {
		return Record{}, time.Time{}, ErrNotFound // deleted (destroyed, renewed) since
	}
	if err != nil {
		return Record{}, time.Time{}, err
	}
	rec.Views = res.GetTransformResults()[0].GetIntegerValue()
	return rec, res.GetUpdateTime().AsTime(), nil
}

// commit sends one write in one Commit, without the client's automatic
// retry: a retry after a lost answer could count views twice (the first
// attempt may have committed), so an unknown outcome is an error for the
// request instead.
func (f *FirestoreStore) commit(ctx context.Context, w *pb.Write) (*pb.WriteResult, error) {
	res, err := f.raw.Commit(ctx, &pb.CommitRequest{Database: f.database, Writes: []*pb.Write{w}},
		gax.WithRetry(func() gax.Retryer { return nil }))
	if err != nil {
		return nil, err
	}
	return res.GetWriteResults()[0], nil
}

// conflict reports whether err is Firestore refusing a conditional write:
// the document changed since the version the write was conditioned on, or
// it is gone.
func conflict(err error) bool {
	c := status.Code(err)
	return c == codes.FailedPrecondition || c == codes.NotFound
}

// Update implements [Store] with one field-level update: only the changed
// keys of values are written. When the record is cached, the update is
// conditional on the cached version, so the cache stays exact; if that
// version is stale, the update is made unconditionally and the record
// leaves the cache.
func (f *FirestoreStore) Update(ctx context.Context, id string, set map[string]any, del []string) error {
	ref, err := f.doc(id)
	if err != nil {
		return err
	}
	if set, err = checkChanges(set, del); err != nil {
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
	return f.update(ctx, ref, "update", updates, func(r Record) Record { return r.withChanges(set, del) })
}

// SetAttrs implements [Store] with one field-level update, as Update.
func (f *FirestoreStore) SetAttrs(ctx context.Context, id string, a Attrs) error {
	ref, err := f.doc(id)
	if err != nil {
		return err
	}
	var updates []firestore.Update
	for _, kv := range attrFields(a) {
		v := kv.value
		if v == nil {
			v = firestore.Delete
		}
		updates = append(updates, firestore.Update{Path: kv.name, Value: v})
	}
	return f.update(ctx, ref, "set attrs", updates, func(r Record) Record {
		r.Values = copyValues(r.Values)
		r.setAttrs(a)
		return r
	})
}

// update makes a field-level update of ref that must find the document.
// When the record is cached, the update is conditional on the cached
// version, and apply gives the cached record after it, so the cache stays
// exact; if that version is stale, the update is made unconditionally and
// the record leaves the cache.
func (f *FirestoreStore) update(ctx context.Context, ref *firestore.DocumentRef, op string, updates []firestore.Update, apply func(Record) Record) error {
	if e, ok := f.cache.get(ref.Path); ok && !e.contended {
		wr, err := ref.Update(ctx, updates, firestore.LastUpdateTime(e.version))
		if err == nil {
			f.cache.put(ref.Path, apply(e.rec), wr.UpdateTime)
			return nil
		}
		f.cache.drop(ref.Path)
		if !conflict(err) {
			return storeError(op, err)
		}
		f.tel.conflict(ctx, "unconditional")
	}
	_, err := ref.Update(ctx, updates)
	return storeError(op, err)
}

// A kv is a document field, by name.
type kv struct {
	name  string
	value any // nil: the field is absent
}

// attrFields returns the document fields of a session's attributes; those
// at their zero value are left out of documents, so that sessions without
// an owner add nothing to the owner index.
func attrFields(a Attrs) []kv {
	fields := []kv{{fieldExpires, a.Expires}, {fieldDeadline, a.Deadline}, {fieldOwner, nil}, {fieldIdle, nil}, {fieldBrowser, nil}}
	if a.Owner != "" {
		fields[2].value = a.Owner
	}
	if a.Idle > 0 {
		fields[3].value = int64(a.Idle / time.Second)
	}
	if a.BrowserSession {
		fields[4].value = true
	}
	return fields
}

// withChanges returns a copy of r with set and del applied to its values.
func (r Record) withChanges(set map[string]any, del []string) Record {
	r.Values = copyValues(r.Values)
	for k, v := range set {
		r.Values[k] = copyValue(v) // encoded by checkChanges
	}
	for _, k := range del {
		delete(r.Values, k)
	}
	return r
}

// Rename implements [Store] with one transaction that writes without
// reading (so it locks nothing): create the new document, delete the old
// one, which must still exist.
func (f *FirestoreStore) Rename(ctx context.Context, oldID, newID string, rec Record) error {
	oldRef, err := f.doc(oldID)
	if err != nil {
		return err
	}
	newRef, err := f.doc(newID)
	if err != nil {
		return err
	}
	if rec.Values, err = f.checkRecord(rec); err != nil {
		return err
	}
	f.cache.drop(oldRef.Path)
	err = f.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		if err := tx.Create(newRef, encodeRecord(rec)); err != nil {
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
	f.cache.drop(ref.Path)
	_, err = ref.Delete(ctx)
	return storeError("delete", err)
}

// DeleteExpired implements [Store]. It queries expiresAt, so it needs that
// field's single-field index; in production, where the README's set-up
// exempts it from indexing, Firestore's TTL policy does this job instead. A
// session visited between the query and its deletion is kept: each delete
// is conditional on the document being unchanged since the query read it.
func (f *FirestoreStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	const page = 500
	deleted := 0
	for {
		snaps, err := f.coll.Where(fieldExpires, "<=", now).Limit(page).Documents(ctx).GetAll()
		if status.Code(err) == codes.FailedPrecondition {
			return deleted, fmt.Errorf("sessions: delete expired needs the single-field index on %s, which TTL does not; rely on the TTL policy instead: %w", fieldExpires, err)
		}
		if err != nil {
			return deleted, storeError("delete expired", err)
		}
		if len(snaps) == 0 {
			return deleted, nil
		}
		bw := f.client.BulkWriter(ctx)
		jobs := make([]*firestore.BulkWriterJob, 0, len(snaps))
		for _, snap := range snaps {
			f.cache.drop(snap.Ref.Path)
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
			switch {
			case err == nil:
				deleted++
				progress++
			case conflict(err):
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

// encodeRecord returns the document fields of rec.
func encodeRecord(rec Record) map[string]any {
	values := rec.Values
	if values == nil {
		values = map[string]any{}
	}
	fields := map[string]any{
		fieldViews:   rec.Views,
		fieldCreated: rec.Created,
		fieldValues:  values,
	}
	for _, kv := range attrFields(rec.attrs()) {
		if kv.value != nil {
			fields[kv.name] = kv.value
		}
	}
	return fields
}

// decode returns the record held by a document's data. A field that is
// missing or of another type reads as its zero value, so a damaged document
// reads as an expired session. Values keep whatever type Firestore gives
// back; times are in UTC, as Session.Set stores them.
func decode(data map[string]any) Record {
	rec := Record{}
	rec.Views, _ = data[fieldViews].(int64)
	rec.Created, _ = data[fieldCreated].(time.Time)
	rec.Expires, _ = data[fieldExpires].(time.Time)
	rec.Deadline, _ = data[fieldDeadline].(time.Time)
	rec.Values, _ = data[fieldValues].(map[string]any)
	rec.Owner, _ = data[fieldOwner].(string)
	idle, _ := data[fieldIdle].(int64)
	rec.Idle = time.Duration(idle) * time.Second
	rec.BrowserSession, _ = data[fieldBrowser].(bool)
	rec.Created, rec.Expires, rec.Deadline = rec.Created.UTC(), rec.Expires.UTC(), rec.Deadline.UTC()
	for k, v := range rec.Values {
		rec.Values[k] = inUTC(v)
	}
	return rec
}

// inUTC returns a value read from Firestore with its times, however deep,
// in UTC, as Session.Set stores them.
func inUTC(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case []any:
		for i, x := range v {
			v[i] = inUTC(x)
		}
	case map[string]any:
		for k, x := range v {
			v[k] = inUTC(x)
		}
	}
	return v
}

// checkRecord checks and encodes the values of a whole record, and checks
// that its document fits Firestore's limits.
func (f *FirestoreStore) checkRecord(rec Record) (map[string]any, error) {
	values, err := checkChanges(rec.Values, nil)
	if err != nil {
		return nil, err
	}
	rec.Values = values
	return values, sizeOf(f.coll.ID, &rec).check()
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
		return fmt.Errorf("%w (firestore %s): %w", ErrNotFound, op, err)
	case codes.AlreadyExists:
		return fmt.Errorf("%w (firestore %s): %w", ErrExists, op, err)
	}
	return fmt.Errorf("sessions: firestore %s: %w", op, err)
}

// Owned implements [OwnerIndex] with one query on the owner field, which
// needs its single-field index (Firestore's default; the README's set-up
// keeps it).
func (f *FirestoreStore) Owned(ctx context.Context, owner string, now time.Time, idle time.Duration) ([]OwnedSession, error) {
	snaps, err := f.ownedDocs(ctx, owner)
	if err != nil {
		return nil, storeError("owned", err)
	}
	var out []OwnedSession
	for _, snap := range snaps {
		if rec := decode(snap.Data()); rec.live(now) {
			out = append(out, ownedSession(snap.Ref.ID, rec, idle)) // the document id is the handle
		}
	}
	return out, nil
}

// ownedDocs returns the documents of owner's sessions: one query on the
// owner field.
func (f *FirestoreStore) ownedDocs(ctx context.Context, owner string) ([]*firestore.DocumentSnapshot, error) {
	return f.coll.Where(fieldOwner, "==", owner).Documents(ctx).GetAll()
}

// DeleteOwned implements [OwnerIndex]: the query of Owned, and the
// deletes in one batch. Other instances notice at their session's next
// view: their cached version no longer matches.
func (f *FirestoreStore) DeleteOwned(ctx context.Context, owner string, handles []string) (int, error) {
	snaps, err := f.ownedDocs(ctx, owner)
	if err != nil {
		return 0, storeError("delete owned", err)
	}
	bw := f.client.BulkWriter(ctx)
	var jobs []*firestore.BulkWriterJob
	for _, snap := range snaps {
		if handles != nil && !slices.Contains(handles, snap.Ref.ID) {
			continue
		}
		f.cache.drop(snap.Ref.Path)
		job, err := bw.Delete(snap.Ref)
		if err != nil {
			bw.End()
			return 0, storeError("delete owned", err)
		}
		jobs = append(jobs, job)
	}
	bw.End()
	n := 0
	for _, job := range jobs {
		if _, err := job.Results(); err != nil {
			return n, storeError("delete owned", err)
		}
		n++
	}
	return n, nil
}
