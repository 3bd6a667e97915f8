package sessions

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/googleapis/gax-go/v2"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Field names of a session document.
const (
	fieldViews     = "views"
	fieldCreated   = "createdAt"
	fieldExpires   = "expiresAt" // the TTL field
	fieldExpiresUs = "expiresUs" // expiresAt in microseconds, which a view's commit reads back
	fieldDeadline  = "deadlineAt"
	fieldValues    = "values"
	fieldRev       = "rev"   // counts the changes of values and attributes
	fieldOwner     = "owner" // indexed: sessions are listed by owner
	fieldIdle      = "idleSeconds"
	fieldBrowser   = "browserSession"
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

	// MeterProvider receives the store's metrics of its cache (see
	// Config.MeterProvider for the Manager's). Default: the global
	// provider, which does nothing until the application installs an SDK.
	MeterProvider metric.MeterProvider
}

// Defaults of [FirestoreConfig].
const (
	defaultCollection = "sessions"
	defaultCacheSize  = 10_000
	defaultCacheBytes = 16 << 20
)

// FirestoreStore keeps sessions in Cloud Firestore, one document a session
// in one collection, so that every instance of an app shares them. Make one
// with [OpenFirestore].
//
// A document holds views (integer), createdAt, expiresAt and deadlineAt
// (timestamps), values (a map of the application's values), and rev, which
// counts the changes of values and attributes. It is named by the SHA-256
// (hex) of the session id, so that whoever can read the database (a console
// user, an export, a backup) cannot read live session ids out of it and
// replay them as cookies. expiresAt is the end of the session: a TTL policy
// on it makes Firestore delete ended sessions (see the README for the TTL
// and index set-up). TTL deletion can lag by a day, so the Manager treats
// an expired document as absent all the same.
//
// # Views: one round trip on any instance, no lock
//
// A view is one Commit that cannot conflict: Firestore's atomic increment
// of views, with a precondition that the document exists (a destroyed or
// renewed session stays gone), which also reads back, as transform results
// of the same write, the new view count, rev and the expiry. It never moves
// the expiry, so counting a view of an ended session cannot revive it; the
// Manager slides the expiry by a separate write conditional on the version
// it saw, and only from time to time.
//
// The store keeps the values and attributes of recently used sessions in
// memory with the rev they had ([FirestoreConfig].CacheSize). When the rev
// read back is the cached one, nothing else changed the session's values or
// attributes, and the view is that one Commit, one round trip, on whichever
// instance serves it. When the session is not cached, the Commit and a read
// of the document go side by side: still one round trip. A session whose
// values another instance changed since costs a read after the Commit, and
// is read side by side from then on, until a read shows that nothing
// changed.
//
// Nothing is locked, so instances sharing a hot session never wait for each
// other, and a client that dies mid-way leaves nothing behind. Within one
// process the middleware coalesces concurrent views of a session into one
// Commit.
type FirestoreStore struct {
	client   *firestore.Client
	raw      *apiv1.Client // commits, sent once: see commit
	coll     *firestore.CollectionRef
	database string // projects/P/databases/D
	cache    *recordCache
	tel      *storeTelemetry
	closers  []func() error
}

// Collection returns the name of the collection of session documents; it
// makes the store a [DocumentStore].
func (f *FirestoreStore) Collection() string { return f.coll.ID }

// doc returns the document name of session id. Only well-formed ids reach
// a document path: the store checks them again, whoever calls it.
func (f *FirestoreStore) doc(id string) (*firestore.DocumentRef, error) {
	if !ValidID(id) {
		return nil, errMalformedID
	}
	return f.coll.Doc(Handle(id)), nil
}

// Create implements [Store] with one create-only write. A lost answer is
// resolved by reading the document back.
func (f *FirestoreStore) Create(ctx context.Context, id string, rec Record) error {
	ref, err := f.doc(id)
	if err != nil {
		return err
	}
	if rec.Values, err = f.checkRecord(rec); err != nil {
		return err
	}
	rec.Values = copyValues(rec.Values)
	_, err = f.commit(ctx, createWrite(ref.Path, rec, 1))
	if err != nil && unknownOutcome(err) && ctx.Err() == nil {
		// The create may have been applied: find out before answering.
		// (When the request's own time ran out, it gets its error: an
		// orphan document, if any, is no one's session, and TTL ends it.)
		if snap, rerr := f.read(ctx, ref); rerr == nil {
			if got, _ := decodeSnap(snap); got.Created.Equal(rec.Created) {
				f.cache.put(ref.Path, got, 1, false)
				return nil
			}
		}
	}
	if err != nil {
		return storeError("create", err)
	}
	f.cache.put(ref.Path, rec, 1, false)
	return nil
}

// Get implements [Store] with one read.
func (f *FirestoreStore) Get(ctx context.Context, id string) (Record, error) {
	ref, err := f.doc(id)
	if err != nil {
		return Record{}, err
	}
	snap, err := f.read(ctx, ref)
	if err != nil {
		return Record{}, storeError("get", err)
	}
	rec, rev := decodeSnap(snap)
	f.cache.put(ref.Path, rec, rev, false)
	rec.Values = copyValues(rec.Values)
	return rec, nil
}

// Visit implements [Store]: see the type's documentation for its round
// trips.
func (f *FirestoreStore) Visit(ctx context.Context, id string, views int64) (Record, error) {
	ref, err := f.doc(id)
	if err != nil {
		return Record{}, err
	}
	rec, err := f.visit(ctx, ref, views)
	if err != nil {
		f.cache.drop(ref.Path)
		return Record{}, storeError("visit", err)
	}
	rec.Values = copyValues(rec.Values) // the cache keeps its own
	return rec, nil
}

func (f *FirestoreStore) visit(ctx context.Context, ref *firestore.DocumentRef, views int64) (Record, error) {
	e, cached := f.cache.get(ref.Path)
	if f.cache != nil {
		f.tel.cacheLookup(ctx, cached)
	}
	if cached && !e.alongside {
		c, err := f.countViews(ctx, ref.Path, views)
		if err != nil {
			return Record{}, err
		}
		if c.rev == e.rev && !c.expires.IsZero() {
			rec := e.rec
			rec.Views, rec.Expires, rec.Version = c.views, c.expires, c.version
			f.cache.put(ref.Path, rec, c.rev, false)
			return rec, nil
		}
		// Another instance changed the values or attributes: read them,
		// and read side by side from now on.
		f.tel.conflict(ctx, "read")
		snap, err := f.read(ctx, ref)
		if err != nil {
			return Record{}, err
		}
		return f.merge(ref.Path, c, snap, true), nil
	}
	// Not cached, or changed elsewhere lately: the Commit and a read side
	// by side.
	var snap *firestore.DocumentSnapshot
	var readErr error
	read := make(chan struct{})
	go func() {
		defer close(read)
		snap, readErr = f.read(ctx, ref)
	}()
	c, err := f.countViews(ctx, ref.Path, views)
	<-read
	if err != nil {
		return Record{}, err
	}
	if readErr == nil {
		if _, rev := decodeSnap(snap); rev < c.rev {
			// Read before a change that came before the Commit: the read is
			// older than the view, so read again.
			snap, readErr = f.read(ctx, ref)
		}
	}
	if readErr != nil {
		return Record{}, readErr
	}
	_, rev := decodeSnap(snap)
	return f.merge(ref.Path, c, snap, cached && rev != e.rev), nil
}

// merge returns the record of a view counted as c, with the values and
// attributes of snap, a read made alongside or after it, and caches it;
// alongside says whether the session's next views should read alongside.
func (f *FirestoreStore) merge(name string, c counted, snap *firestore.DocumentSnapshot, alongside bool) Record {
	rec, rev := decodeSnap(snap)
	rec.Views = c.views
	if rev == c.rev && !c.expires.IsZero() {
		// Nothing changed the values or attributes between the read and the
		// Commit: they are the record at the Commit's version.
		rec.Expires, rec.Version = c.expires, c.version
	}
	f.cache.put(name, rec, rev, alongside)
	return rec
}

// counted is what a view's Commit reads back.
type counted struct {
	views, rev int64
	expires    time.Time // zero in a document without expiresUs
	version    string
}

// countViews adds views to the view count of document name in one Commit
// that cannot conflict, and reads back the new count, rev and expiry.
func (f *FirestoreStore) countViews(ctx context.Context, name string, views int64) (counted, error) {
	res, err := f.commit(ctx, &pb.Write{
		Operation: &pb.Write_Transform{Transform: &pb.DocumentTransform{Document: name, FieldTransforms: []*pb.DocumentTransform_FieldTransform{
			increment(fieldViews, views), increment(fieldRev, 0), increment(fieldExpiresUs, 0),
		}}},
		CurrentDocument: exists,
	})
	if err != nil {
		return counted{}, err
	}
	r := res.GetTransformResults()
	c := counted{views: r[0].GetIntegerValue(), rev: r[1].GetIntegerValue(), version: versionOf(res.GetUpdateTime())}
	if us := r[2].GetIntegerValue(); us != 0 {
		c.expires = time.UnixMicro(us).UTC()
	}
	return c, nil
}

var exists = &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: true}}

// increment returns the transform that adds n to the integer field path.
func increment(path string, n int64) *pb.DocumentTransform_FieldTransform {
	return &pb.DocumentTransform_FieldTransform{FieldPath: path, TransformType: &pb.DocumentTransform_FieldTransform_Increment{
		Increment: &pb.Value{ValueType: &pb.Value_IntegerValue{IntegerValue: n}},
	}}
}

// versionOf names a document version: its update time, to the microsecond
// as Firestore keeps it.
func versionOf(t *timestamppb.Timestamp) string {
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

// parseVersion is the inverse of versionOf.
func parseVersion(v string) (*timestamppb.Timestamp, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, fmt.Errorf("sessions: firestore: version %q is not one of this store's: %w", truncate(v, 40), err)
	}
	return timestamppb.New(t), nil
}

// read reads the document of ref.
func (f *FirestoreStore) read(ctx context.Context, ref *firestore.DocumentRef) (*firestore.DocumentSnapshot, error) {
	snap, err := ref.Get(ctx)
	if status.Code(err) == codes.NotFound {
		return nil, ErrNotFound
	}
	return snap, err
}

// commit sends writes in one Commit, without the client's automatic retry:
// a retry after a lost answer could count views twice (the first attempt
// may have committed), so an unknown outcome is the caller's to resolve, or
// an error for the request. It returns the first write's result. A Commit
// waits, within ctx, for a connection that is reconnecting rather than
// failing at once: nothing has been sent then, and service resumes as soon
// as the store answers again.
func (f *FirestoreStore) commit(ctx context.Context, writes ...*pb.Write) (*pb.WriteResult, error) {
	res, err := f.raw.Commit(ctx, &pb.CommitRequest{Database: f.database, Writes: writes},
		gax.WithRetry(func() gax.Retryer { return nil }), gax.WithGRPCOptions(grpc.WaitForReady(true)))
	if err != nil {
		return nil, err
	}
	return res.GetWriteResults()[0], nil
}

// unknownOutcome reports whether a call that failed with err may have been
// applied all the same: its answer was lost or came too late.
func unknownOutcome(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Unknown, codes.Internal, codes.Canceled, codes.Aborted:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// Apply implements [Store] with one Commit of one field-level write: only
// the fields the change names are in its mask. A change of values or
// attributes adds one to rev, so that every instance's next view sees that
// its cached record is out of date.
func (f *FirestoreStore) Apply(ctx context.Context, id string, c Change) (Applied, error) {
	ref, err := f.doc(id)
	if err != nil {
		return Applied{}, err
	}
	if c.Set, err = checkChanges(c.Set, c.Delete); err != nil {
		return Applied{}, err
	}
	for k := range c.Add {
		if err := checkKey(k); err != nil {
			return Applied{}, err
		}
	}
	if c.empty() {
		return Applied{Version: c.IfVersion}, nil
	}
	w, err := changeWrite(ref.Path, c)
	if err != nil {
		return Applied{}, err
	}
	e, cached := f.cache.get(ref.Path)
	res, err := f.commit(ctx, w)
	if err != nil && unknownOutcome(err) && ctx.Err() == nil && len(c.Add) == 0 && c.IfVersion == "" {
		// Setting fields to given values is the same change twice: send it
		// again rather than leave its outcome unknown. (Only rev counts
		// twice, which costs other instances a read.)
		res, err = f.commit(ctx, w)
	}
	if err != nil {
		f.cache.drop(ref.Path)
		if c.IfVersion != "" && status.Code(err) == codes.FailedPrecondition {
			return Applied{}, fmt.Errorf("%w (firestore apply): %w", ErrConflict, err)
		}
		if status.Code(err) == codes.InvalidArgument && len(c.Add) > 0 {
			return Applied{}, fmt.Errorf("%w: %w", ErrWrongType, err)
		}
		return Applied{}, storeError("apply", err)
	}
	out := Applied{}
	results := res.GetTransformResults()
	revised := !onlyExpires(c)
	if revised {
		rev := results[0].GetIntegerValue()
		results = results[1:]
		if cached && rev == e.rev+1 {
			// Nothing else changed the values or attributes: the cached
			// record with this change is the stored one.
			rec := e.rec
			c.applyTo(&rec)
			f.cache.put(ref.Path, rec, rev, e.alongside)
		} else {
			f.cache.drop(ref.Path)
		}
	}
	if len(c.Add) > 0 {
		out.Sums = make(map[string]int64, len(c.Add))
		for i, k := range addKeys(c) {
			out.Sums[k] = results[i].GetIntegerValue()
		}
	}
	if c.IfVersion != "" {
		out.Version = versionOf(res.GetUpdateTime())
	}
	return out, nil
}

// onlyExpires reports whether c only moves the expiry, a change that leaves
// rev as it is: values and attributes are unchanged.
func onlyExpires(c Change) bool {
	x := c
	x.Expires, x.IfVersion = time.Time{}, ""
	return x.empty()
}

// addKeys returns the keys of c.Add in the order of their transforms.
func addKeys(c Change) []string { return slices.Sorted(maps.Keys(c.Add)) }

// changeWrite returns the field-level write of c to document name.
func changeWrite(name string, c Change) (*pb.Write, error) {
	doc := &pb.Document{Name: name, Fields: map[string]*pb.Value{}}
	var mask []string
	set := func(path []string, v any) error {
		mask = append(mask, fieldPath(path...))
		if v == nil && path[0] != fieldValues {
			return nil // an attribute at its zero value is absent
		}
		pv, err := toProto(v)
		if err != nil {
			return err
		}
		fields := doc.Fields
		for _, seg := range path[:len(path)-1] {
			m, ok := fields[seg]
			if !ok {
				m = &pb.Value{ValueType: &pb.Value_MapValue{MapValue: &pb.MapValue{Fields: map[string]*pb.Value{}}}}
				fields[seg] = m
			}
			fields = m.GetMapValue().Fields
		}
		fields[path[len(path)-1]] = pv
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(c.Set)) {
		if err := set([]string{fieldValues, k}, c.Set[k]); err != nil {
			return nil, fmt.Errorf("value %q: %w", truncate(k, 40), err)
		}
	}
	for _, k := range c.Delete {
		mask = append(mask, fieldPath(fieldValues, k))
	}
	if c.Owner != nil {
		set([]string{fieldOwner}, attr(*c.Owner != "", *c.Owner))
	}
	if c.SetLifetime {
		set([]string{fieldIdle}, attr(c.Idle > 0, int64(c.Idle/time.Second)))
		set([]string{fieldDeadline}, c.Deadline)
		set([]string{fieldBrowser}, attr(c.BrowserSession, true))
	}
	if !c.Expires.IsZero() {
		set([]string{fieldExpires}, c.Expires)
		set([]string{fieldExpiresUs}, c.Expires.UnixMicro())
	}
	w := &pb.Write{Operation: &pb.Write_Update{Update: doc}, UpdateMask: &pb.DocumentMask{FieldPaths: mask}, CurrentDocument: exists}
	if !onlyExpires(c) {
		w.UpdateTransforms = append(w.UpdateTransforms, increment(fieldRev, 1))
	}
	for _, k := range addKeys(c) {
		w.UpdateTransforms = append(w.UpdateTransforms, increment(fieldPath(fieldValues, k), c.Add[k]))
	}
	if c.IfVersion != "" {
		t, err := parseVersion(c.IfVersion)
		if err != nil {
			return nil, err
		}
		w.CurrentDocument = &pb.Precondition{ConditionType: &pb.Precondition_UpdateTime{UpdateTime: t}}
	}
	return w, nil
}

// attr returns v when present, and nil (the field is absent) otherwise.
func attr(present bool, v any) any {
	if present {
		return v
	}
	return nil
}

// createWrite returns the write that creates document name holding rec at
// rev, and fails if it exists.
func createWrite(name string, rec Record, rev int64) *pb.Write {
	fields := map[string]*pb.Value{}
	for k, v := range encodeRecord(rec, rev) {
		pv, _ := toProto(v) // encoded and checked by checkRecord
		fields[k] = pv
	}
	return &pb.Write{
		Operation:       &pb.Write_Update{Update: &pb.Document{Name: name, Fields: fields}},
		CurrentDocument: &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: false}},
	}
}

// Rename implements [Store] with one Commit of two writes: create the new
// document, and delete the old one if it is still at rec.Version. A lost
// answer is resolved by reading the new document: its id is new, so only
// this Rename can have created it.
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
	version, err := parseVersion(rec.Version)
	if err != nil {
		return err
	}
	f.cache.drop(oldRef.Path)
	del := &pb.Write{
		Operation:       &pb.Write_Delete{Delete: oldRef.Path},
		CurrentDocument: &pb.Precondition{ConditionType: &pb.Precondition_UpdateTime{UpdateTime: version}},
	}
	_, err = f.commit(ctx, createWrite(newRef.Path, rec, 1), del)
	if err != nil && unknownOutcome(err) && ctx.Err() == nil {
		if _, rerr := f.read(ctx, newRef); rerr == nil {
			err = nil // applied; only its answer was lost
		}
	}
	switch {
	case err == nil:
		rec.Values = copyValues(rec.Values)
		f.cache.put(newRef.Path, rec, 1, false)
		return nil
	case status.Code(err) == codes.FailedPrecondition:
		if _, rerr := f.read(ctx, oldRef); errors.Is(rerr, ErrNotFound) {
			return fmt.Errorf("%w (firestore rename): the session is gone", ErrNotFound)
		}
		return fmt.Errorf("%w (firestore rename): %w", ErrConflict, err)
	}
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
			case status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound:
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

// encodeRecord returns the document fields of rec at rev.
func encodeRecord(rec Record, rev int64) map[string]any {
	values := rec.Values
	if values == nil {
		values = map[string]any{}
	}
	fields := map[string]any{
		fieldViews:     rec.Views,
		fieldCreated:   rec.Created,
		fieldExpires:   rec.Expires,
		fieldExpiresUs: rec.Expires.UnixMicro(),
		fieldDeadline:  rec.Deadline,
		fieldValues:    values,
		fieldRev:       rev,
	}
	if rec.Owner != "" {
		fields[fieldOwner] = rec.Owner
	}
	if rec.Idle > 0 {
		fields[fieldIdle] = int64(rec.Idle / time.Second)
	}
	if rec.BrowserSession {
		fields[fieldBrowser] = true
	}
	return fields
}

// decodeSnap returns the record held by a document, at its version, and
// its rev.
func decodeSnap(snap *firestore.DocumentSnapshot) (Record, int64) {
	data := snap.Data()
	rec := decode(data)
	rec.Version = versionOf(timestamppb.New(snap.UpdateTime))
	rev, _ := data[fieldRev].(int64)
	return rec, rev
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

// toProto returns an encoded value (see encode) as Firestore's protocol
// holds it.
func toProto(v any) (*pb.Value, error) {
	switch v := v.(type) {
	case nil:
		return &pb.Value{ValueType: &pb.Value_NullValue{}}, nil
	case bool:
		return &pb.Value{ValueType: &pb.Value_BooleanValue{BooleanValue: v}}, nil
	case int64:
		return &pb.Value{ValueType: &pb.Value_IntegerValue{IntegerValue: v}}, nil
	case float64:
		return &pb.Value{ValueType: &pb.Value_DoubleValue{DoubleValue: v}}, nil
	case string:
		return &pb.Value{ValueType: &pb.Value_StringValue{StringValue: v}}, nil
	case []byte:
		return &pb.Value{ValueType: &pb.Value_BytesValue{BytesValue: v}}, nil
	case time.Time:
		return &pb.Value{ValueType: &pb.Value_TimestampValue{TimestampValue: timestamppb.New(v)}}, nil
	case []any:
		a := &pb.ArrayValue{Values: make([]*pb.Value, len(v))}
		for i, x := range v {
			pv, err := toProto(x)
			if err != nil {
				return nil, err
			}
			a.Values[i] = pv
		}
		return &pb.Value{ValueType: &pb.Value_ArrayValue{ArrayValue: a}}, nil
	case map[string]any:
		m := &pb.MapValue{Fields: make(map[string]*pb.Value, len(v))}
		for k, x := range v {
			pv, err := toProto(x)
			if err != nil {
				return nil, err
			}
			m.Fields[k] = pv
		}
		return &pb.Value{ValueType: &pb.Value_MapValue{MapValue: m}}, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
}

// fieldPath returns the field path of segs as Firestore writes it: a
// segment that is not a plain identifier is quoted in backquotes, with `
// and \ escaped.
func fieldPath(segs ...string) string {
	var b strings.Builder
	for i, seg := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		if plainSegment(seg) {
			b.WriteString(seg)
			continue
		}
		b.WriteByte('`')
		for j := 0; j < len(seg); j++ {
			if seg[j] == '`' || seg[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(seg[j])
		}
		b.WriteByte('`')
	}
	return b.String()
}

// plainSegment reports whether seg needs no quoting in a field path.
func plainSegment(seg string) bool {
	if seg == "" || seg[0] >= '0' && seg[0] <= '9' {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
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
func (f *FirestoreStore) Owned(ctx context.Context, owner string) (map[string]Record, error) {
	snaps, err := f.ownedDocs(ctx, owner)
	if err != nil {
		return nil, storeError("owned", err)
	}
	out := make(map[string]Record, len(snaps))
	for _, snap := range snaps {
		rec, _ := decodeSnap(snap)
		out[snap.Ref.ID] = rec // the document id is the handle
	}
	return out, nil
}

// ownedDocs returns the documents of owner's sessions: one query on the
// owner field.
func (f *FirestoreStore) ownedDocs(ctx context.Context, owner string) ([]*firestore.DocumentSnapshot, error) {
	return f.coll.Where(fieldOwner, "==", owner).Documents(ctx).GetAll()
}

// maxOwnedRounds bounds the rounds of DeleteOwned.
const maxOwnedRounds = 8

// DeleteOwned implements [OwnerIndex]: the query of Owned, and the
// deletes in one batch, repeated until the query finds none, so that a
// session that a concurrent Renew moved to a new document between the
// query and the deletes is found by the next query and ended too. Each
// delete requires the document to exist, so a session is counted once
// whichever document ended it. Other instances notice at the session's
// next view: its document is gone.
func (f *FirestoreStore) DeleteOwned(ctx context.Context, owner string, handles []string) (int, error) {
	n := 0
	for range maxOwnedRounds {
		snaps, err := f.ownedDocs(ctx, owner)
		if err != nil {
			return n, storeError("delete owned", err)
		}
		bw := f.client.BulkWriter(ctx)
		var jobs []*firestore.BulkWriterJob
		for _, snap := range snaps {
			if handles != nil && !slices.Contains(handles, snap.Ref.ID) {
				continue
			}
			f.cache.drop(snap.Ref.Path)
			job, err := bw.Delete(snap.Ref, firestore.Exists)
			if err != nil {
				bw.End()
				return n, storeError("delete owned", err)
			}
			jobs = append(jobs, job)
		}
		bw.End()
		if len(jobs) == 0 {
			return n, nil
		}
		for _, job := range jobs {
			_, err := job.Results()
			switch {
			case err == nil:
				n++
			case status.Code(err) == codes.NotFound:
				// renamed or deleted meanwhile: the next query finds where
				// it went, if anywhere
			default:
				return n, storeError("delete owned", err)
			}
		}
		if handles != nil {
			// Named sessions: a renamed one has a new handle, which the
			// caller could not have named.
			return n, nil
		}
	}
	return n, fmt.Errorf("sessions: firestore delete owned: sessions of the owner still being created after %d rounds", maxOwnedRounds)
}
