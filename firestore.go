package sessions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

// Field names of a record's document.
const (
	fieldViews     = "views"
	fieldValues    = "values"
	fieldCreated   = "createdAt"
	fieldRenewed   = "renewedAt"
	fieldExpires   = "expiresAt" // the TTL field
	fieldExpiresUs = "expiresUs" // expiresAt in microseconds, which a view's commit reads back
	fieldDeadline  = "deadlineAt"
	fieldIdle      = "idleSeconds"
	fieldBrowser   = "browserSession"
	fieldOwner     = "owner"
	fieldMovedTo   = "movedTo"
	fieldEnded     = "ended"
	fieldRev       = "rev" // counts the changes of values and attributes other than the expiry
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

	// Collection names the collection of session documents: at most 100
	// bytes, without "/". Default "sessions".
	Collection string

	// CacheSize bounds how many records the store keeps in memory, with
	// their Firestore versions, so that a returning view costs one round
	// trip instead of two. Default 10,000; negative: no cache (every view
	// reads its session alongside, every other write reads it after).
	CacheSize int

	// CacheBytes bounds the memory those records take, as estimated from
	// their keys and values. Default 16 MiB; a record larger than the bound
	// is not cached.
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
	maxCollectionLen  = 100
)

// FirestoreStore keeps records in Cloud Firestore, one document a record
// in one collection, so that every instance of an app shares them. Make
// one with [OpenFirestore].
//
// A document holds views (integer), values (a map of the application's
// values), createdAt, renewedAt, expiresAt and deadlineAt (timestamps),
// expiresUs (expiresAt in microseconds, which a write reads back), and,
// when set, owner, idleSeconds, browserSession, movedTo and ended; and
// rev, which counts the changes of values and attributes other than the
// expiry. Its name is the record's key: for a session, the SHA-256
// of its id, so that whoever can read the database (a console user, an
// export, a backup) cannot read live session ids out of it. expiresAt is
// the end of the record: a TTL policy on it makes Firestore delete ended
// sessions (see docs/production.md). TTL deletion can lag by a day; the
// Manager treats an ended session as absent all the same.
//
// # One round trip a write, on any instance, no lock
//
// A Commit is one Commit RPC, never retried on its own (a retry after a
// lost answer could count views twice). A mutation of a record is a
// field-level write with Firestore's own precondition (exists, not exists,
// or the update time of the version required) and transforms that read
// back, in the same write, the new view count, rev and expiry. A view is
// thus one write that cannot conflict.
//
// The store keeps the records it last read or wrote in memory with their
// rev ([FirestoreConfig].CacheSize). When the rev read back is the one a
// mutation expects from the cached record, nothing else changed the
// record's values or attributes, and the record after the mutation is
// known without a read: one round trip, on whichever instance. A view of a
// session that is not cached reads the document side by side with its
// Commit, still one round trip; a record that another instance changed
// since is read after the Commit, and its views read side by side from
// then on, until a read shows that nothing changed.
type FirestoreStore struct {
	client   *firestore.Client
	raw      *apiv1.Client // commits, sent once: see commit
	coll     *firestore.CollectionRef
	database string // projects/P/databases/D, cfg.Database's
	cache    *recordCache
	tel      *storeTelemetry
	closers  []func() error
}

// validKey reports whether key is one a Manager makes: 1 to 100 bytes of
// lower-case letters, digits and '-'. The store checks it again, whoever
// calls it, so that nothing else reaches a document path.
func validKey(key string) bool {
	if key == "" || len(key) > 100 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

var errInvalidKey = errors.New("sessions: a store key must be 1 to 100 bytes of a-z, 0-9 and -")

// name returns the document name of key.
func (f *FirestoreStore) name(key string) string { return f.coll.Path + "/" + key }

// Get implements [Store] with one read.
func (f *FirestoreStore) Get(ctx context.Context, key string) (Record, error) {
	if !validKey(key) {
		return Record{}, errInvalidKey
	}
	rec, rev, err := f.read(ctx, key)
	if err != nil {
		return Record{}, storeError("get", err)
	}
	f.cache.put(key, rec, rev, false)
	rec.Values = copyValues(rec.Values)
	return rec, nil
}

// read reads the document of key, and returns its record and rev.
func (f *FirestoreStore) read(ctx context.Context, key string) (Record, int64, error) {
	snap, err := f.coll.Doc(key).Get(ctx)
	if err != nil {
		return Record{}, 0, err
	}
	rec, rev := decodeSnap(snap)
	return rec, rev, nil
}

// A planned write is one mutation of a Commit, with what the store knows
// of its record before it.
type planned struct {
	m        Mutation
	base     *cacheEntry // the record before the mutation, when known
	bump     int64       // what the mutation adds to rev
	readBack bool        // the write reads back the expiry
	view     bool        // the mutation only counts views
}

// Commit implements [Store] with one Commit RPC of one write a mutation:
// see the type's documentation for its round trips.
func (f *FirestoreStore) Commit(ctx context.Context, ms ...Mutation) ([]Record, error) {
	plan := make([]planned, len(ms))
	writes := make([]*pb.Write, len(ms))
	known := map[string]*cacheEntry{} // records as the earlier mutations leave them
	for i, m := range ms {
		if !validKey(m.Key) {
			return nil, errInvalidKey
		}
		p := planned{m: m, view: m.AddViews != 0 && !m.changesValues() && !m.Create && !m.Delete}
		if e, ok := known[m.Key]; ok {
			p.base = e
		} else if e, ok := f.cache.get(m.Key); ok {
			p.base = &e
		}
		if p.view && f.cache != nil {
			f.tel.cacheLookup(ctx, p.base != nil)
		}
		var err error
		writes[i], err = f.write(&p)
		if err != nil {
			return nil, err
		}
		switch {
		case m.Delete:
			known[m.Key] = nil
		case m.Create:
			rec := m.Apply(Record{})
			known[m.Key] = &cacheEntry{rec: rec, rev: p.bump}
		default:
			delete(known, m.Key) // known again once the result is in
		}
		plan[i] = p
	}

	// A view of a session that is not cached, or that other instances
	// change, reads the document side by side with its Commit.
	var alongside chan readResult
	if len(plan) == 1 && plan[0].view && (plan[0].base == nil || plan[0].base.alongside) {
		alongside = make(chan readResult, 1)
		go func() {
			rec, rev, err := f.read(ctx, plan[0].m.Key)
			alongside <- readResult{rec, rev, err}
		}()
	}
	res, err := f.commit(ctx, writes)
	var side readResult
	if alongside != nil {
		side = <-alongside
	}
	if err != nil {
		for _, p := range plan {
			f.cache.drop(p.m.Key)
		}
		return nil, storeError("commit", err)
	}
	out := make([]Record, len(plan))
	for i, p := range plan {
		switch {
		case p.m.Delete:
			f.cache.drop(p.m.Key)
		case p.m.Create:
			rec := p.m.Apply(Record{})
			rec.Version = versionOf(res[i].GetUpdateTime())
			f.cache.put(p.m.Key, rec, p.bump, false)
			out[i] = rec
		default:
			if out[i], err = f.after(ctx, p, res[i], side); err != nil {
				return nil, storeError("commit", err)
			}
		}
		out[i].Values = copyValues(out[i].Values) // the cache keeps its own
	}
	return out, nil
}

type readResult struct {
	rec Record
	rev int64
	err error
}

// write returns the write of p's mutation, and sets what p needs to know
// of it.
func (f *FirestoreStore) write(p *planned) (*pb.Write, error) {
	m, name := p.m, f.name(p.m.Key)
	switch {
	case m.Delete:
		return &pb.Write{Operation: &pb.Write_Delete{Delete: name}, CurrentDocument: precondition(m)}, nil
	case m.Create:
		// rev starts anywhere: a record created again under a key (a
		// session ended and kept to say why) must not look unchanged to an
		// instance that cached the one before.
		p.bump = rand.Int64N(1 << 52)
		fields, err := encodeFields(m.Apply(Record{}), p.bump)
		if err != nil {
			return nil, err
		}
		return &pb.Write{Operation: &pb.Write_Update{Update: &pb.Document{Name: name, Fields: fields}}, CurrentDocument: precondition(m)}, nil
	}
	doc := &pb.Document{Name: name, Fields: map[string]*pb.Value{}}
	var mask []string
	values := map[string]*pb.Value{}
	for _, k := range m.sortedKeys() {
		v, err := toProto(m.Set[k])
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", truncate(k, 40), err)
		}
		values[k] = v
		mask = append(mask, fieldPath(fieldValues, k))
	}
	if len(values) > 0 {
		doc.Fields[fieldValues] = &pb.Value{ValueType: &pb.Value_MapValue{MapValue: &pb.MapValue{Fields: values}}}
	}
	for _, k := range m.Unset {
		mask = append(mask, fieldPath(fieldValues, k))
	}
	if m.Attrs != nil {
		for k, v := range attrFields(m.Attrs) {
			mask = append(mask, k)
			if v != nil {
				doc.Fields[k] = v
			}
		}
	}
	if len(m.Set) > 0 || len(m.Unset) > 0 || (m.Attrs != nil && !f.onlyExpiry(p)) {
		p.bump = 1
	}
	transforms := []*pb.DocumentTransform_FieldTransform{increment(fieldViews, m.AddViews), increment(fieldRev, p.bump)}
	if m.Attrs == nil {
		p.readBack = true
		transforms = append(transforms, increment(fieldExpiresUs, 0))
	}
	w := &pb.Write{CurrentDocument: precondition(m)}
	if len(mask) == 0 {
		w.Operation = &pb.Write_Transform{Transform: &pb.DocumentTransform{Document: name, FieldTransforms: transforms}}
	} else {
		w.Operation = &pb.Write_Update{Update: doc}
		w.UpdateMask = &pb.DocumentMask{FieldPaths: mask}
		w.UpdateTransforms = transforms
	}
	return w, nil
}

// onlyExpiry reports whether p's mutation changes no attribute of its
// record but the expiry (a slide, which leaves rev as it is): only when
// the record it requires is the one cached.
func (f *FirestoreStore) onlyExpiry(p *planned) bool {
	if p.base == nil || p.m.IfVersion == "" || p.m.IfVersion != p.base.rec.Version {
		return false
	}
	a, b := *p.m.Attrs, p.base.rec.Attrs
	a.Expires = b.Expires
	return a == b
}

// precondition returns Firestore's precondition of m.
func precondition(m Mutation) *pb.Precondition {
	switch {
	case m.Create:
		return &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: false}}
	case m.IfVersion != "":
		t, err := time.Parse(time.RFC3339Nano, m.IfVersion)
		if err != nil {
			// No document is ever at a version of another store: ask for
			// one that cannot be, so the write fails as a conflict.
			t = time.Unix(0, 0)
		}
		return &pb.Precondition{ConditionType: &pb.Precondition_UpdateTime{UpdateTime: timestamppb.New(t)}}
	}
	return mustExist
}

var mustExist = &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: true}}

// after returns the record that p's update left, from its write result
// wr: from the cached record or a read made side by side when they are
// the record just before the write, or else from a read made after it.
func (f *FirestoreStore) after(ctx context.Context, p planned, wr *pb.WriteResult, side readResult) (Record, error) {
	r := wr.GetTransformResults()
	views, rev := r[0].GetIntegerValue(), r[1].GetIntegerValue()
	version := versionOf(wr.GetUpdateTime())
	var expires time.Time
	if p.readBack {
		if us := r[2].GetIntegerValue(); us != 0 {
			expires = time.UnixMicro(us).UTC()
		}
	}
	exact := func(before Record) Record {
		rec := p.m.Apply(before)
		rec.Views, rec.Version = views, version
		if p.readBack {
			rec.Expires = expires
		}
		return rec
	}
	key := p.m.Key
	if p.base != nil && rev == p.base.rev+p.bump && (!p.readBack || !expires.IsZero()) {
		rec := exact(p.base.rec)
		f.cache.put(key, rec, rev, p.base.alongside)
		return rec, nil
	}
	if p.base != nil {
		f.tel.conflict(ctx, "read")
	}
	if side.err == nil && side.rec.Version != "" && side.rev == rev-p.bump && (!p.readBack || !expires.IsZero()) {
		rec := exact(side.rec)
		// Read side by side again next time when the record had changed
		// since it was cached.
		f.cache.put(key, rec, rev, p.base != nil && side.rev != p.base.rev)
		return rec, nil
	}
	// Read after the write: the record it shows is at or after it.
	rec, readRev, err := f.read(ctx, key)
	if err != nil {
		return Record{}, err
	}
	f.cache.put(key, rec, readRev, true)
	if rec.Views != views || readRev != rev || (p.readBack && !rec.Expires.Equal(expires)) {
		rec.Views, rec.Version = views, "" // not one version: the count as the write left it
	}
	return rec, nil
}

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

// commit sends writes in one Commit, without the client's automatic retry:
// a retry after a lost answer could count views twice (the first attempt
// may have committed), so an unknown outcome is the caller's to resolve.
// A Commit waits, within ctx, for a connection that is reconnecting rather
// than failing at once: nothing has been sent then, and service resumes as
// soon as the store answers again.
func (f *FirestoreStore) commit(ctx context.Context, writes []*pb.Write) ([]*pb.WriteResult, error) {
	res, err := f.raw.Commit(ctx, &pb.CommitRequest{Database: f.database, Writes: writes},
		gax.WithRetry(func() gax.Retryer { return nil }), gax.WithGRPCOptions(grpc.WaitForReady(true)))
	if err != nil {
		return nil, err
	}
	return res.GetWriteResults(), nil
}

// storeError maps Firestore's answers to this package's errors, keeping the
// cause.
func storeError(op string, err error) error {
	var sentinel error
	switch status.Code(err) {
	case codes.OK:
		switch {
		case err == nil:
			return nil
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			sentinel = ErrUnavailable
		}
	case codes.NotFound:
		sentinel = ErrNotFound
	case codes.AlreadyExists:
		sentinel = ErrExists
	case codes.FailedPrecondition:
		sentinel = ErrConflict
	case codes.InvalidArgument:
		if msg := strings.ToLower(status.Convert(err).Message()); strings.Contains(msg, "size") && strings.Contains(msg, "maximum") {
			sentinel = ErrTooLarge // the document past Firestore's limit
		}
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Aborted, codes.Internal, codes.Unknown, codes.ResourceExhausted:
		sentinel = ErrUnavailable // the write may have been applied
	}
	if sentinel == nil || errors.Is(err, sentinel) {
		return fmt.Errorf("sessions: firestore %s: %w", op, err)
	}
	return fmt.Errorf("%w (firestore %s): %w", sentinel, op, err)
}

// DeleteExpired removes every record whose expiry is at or before now, and
// reports how many it removed. It queries expiresAt, so it needs that
// field's single-field index; in production, where docs/production.md
// exempts it from indexing, Firestore's TTL policy does this job instead.
// A record written between the query and its deletion is kept: each delete
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
			f.cache.drop(snap.Ref.ID)
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
				// written or deleted meanwhile
			default:
				return deleted, storeError("delete expired", err)
			}
		}
		if len(snaps) < page || progress == 0 {
			return deleted, nil
		}
	}
}

// encodeFields returns the document fields of rec at rev.
func encodeFields(rec Record, rev int64) (map[string]*pb.Value, error) {
	values := &pb.MapValue{Fields: make(map[string]*pb.Value, len(rec.Values))}
	for k, v := range rec.Values {
		pv, err := toProto(v)
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", truncate(k, 40), err)
		}
		values.Fields[k] = pv
	}
	fields := attrFields(&rec.Attrs)
	for k, v := range fields {
		if v == nil {
			delete(fields, k)
		}
	}
	fields[fieldViews] = intValue(rec.Views)
	fields[fieldValues] = &pb.Value{ValueType: &pb.Value_MapValue{MapValue: values}}
	fields[fieldRev] = intValue(rev)
	return fields, nil
}

// attrFields returns the document fields of a, by field path: nil for an
// attribute at its zero value, which is absent from the document.
func attrFields(a *Attrs) map[string]*pb.Value {
	ts := func(t time.Time) *pb.Value {
		if t.IsZero() {
			return nil
		}
		return &pb.Value{ValueType: &pb.Value_TimestampValue{TimestampValue: timestamppb.New(t)}}
	}
	str := func(s string) *pb.Value {
		if s == "" {
			return nil
		}
		return &pb.Value{ValueType: &pb.Value_StringValue{StringValue: s}}
	}
	fields := map[string]*pb.Value{
		fieldCreated:   ts(a.Created),
		fieldRenewed:   ts(a.Renewed),
		fieldExpires:   ts(a.Expires),
		fieldExpiresUs: intValue(a.Expires.UnixMicro()),
		fieldDeadline:  ts(a.Deadline),
		fieldOwner:     str(a.Owner),
		fieldMovedTo:   str(a.MovedTo),
		fieldEnded:     str(string(a.Ended)),
		fieldIdle:      nil,
		fieldBrowser:   nil,
	}
	if a.Idle > 0 {
		fields[fieldIdle] = intValue(int64(a.Idle / time.Second))
	}
	if a.BrowserSession {
		fields[fieldBrowser] = &pb.Value{ValueType: &pb.Value_BooleanValue{BooleanValue: true}}
	}
	return fields
}

func intValue(n int64) *pb.Value {
	return &pb.Value{ValueType: &pb.Value_IntegerValue{IntegerValue: n}}
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
// reads as an ended session. Values keep whatever type Firestore gives
// back; times are in UTC, as Session.Set stores them.
func decode(data map[string]any) Record {
	rec := Record{}
	rec.Views, _ = data[fieldViews].(int64)
	rec.Values, _ = data[fieldValues].(map[string]any)
	for k, v := range rec.Values {
		rec.Values[k] = inUTC(v)
	}
	t := func(f string) time.Time {
		v, _ := data[f].(time.Time)
		return v.UTC()
	}
	rec.Created, rec.Renewed, rec.Expires, rec.Deadline = t(fieldCreated), t(fieldRenewed), t(fieldExpires), t(fieldDeadline)
	idle, _ := data[fieldIdle].(int64)
	rec.Idle = time.Duration(idle) * time.Second
	rec.BrowserSession, _ = data[fieldBrowser].(bool)
	rec.Owner, _ = data[fieldOwner].(string)
	rec.MovedTo, _ = data[fieldMovedTo].(string)
	ended, _ := data[fieldEnded].(string)
	rec.Ended = EndReason(ended)
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
		return intValue(v), nil
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
