package sessions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The two-round-trip visit.
//
// firestore.Client.RunTransaction always begins a transaction with its own
// BeginTransaction call: a visit costs BeginTransaction, BatchGetDocuments
// and Commit. Firestore can begin the transaction inside the read instead
// (BatchGetDocuments with NewTransaction), which makes a visit
// BatchGetDocuments and Commit: one round trip fewer, with the same
// guarantees. That takes the low-level client, FirestoreConfig.Raw.

// rawVisit counts views of the session document name in a transaction
// begun by its read, retrying when Firestore aborts it for contention until
// ctx ends.
func (f *FirestoreStore) rawVisit(ctx context.Context, name string, views int64, now time.Time, idle time.Duration) (Record, error) {
	var retry []byte // the aborted transaction: a retry keeps its place in line
	pause := firstRetryPause
	for {
		rec, tx, err := f.rawVisitOnce(ctx, name, views, now, idle, retry)
		if status.Code(err) != codes.Aborted {
			return rec, err
		}
		retry = tx
		// Jittered: contenders that collided must not collide again.
		t := time.NewTimer(rand.N(pause) + time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return Record{}, fmt.Errorf("%w (after an aborted transaction: %w)", ctx.Err(), err)
		}
		pause = min(2*pause, maxRetryPause)
	}
}

// Backoff after an aborted transaction. Short pauses make contenders
// collide again: one process sharing a hot session with another did ~20×
// worse with 20 ms pauses than with jittered ones near a second.
const (
	firstRetryPause = 500 * time.Millisecond
	maxRetryPause   = 4 * time.Second
)

// rawVisitOnce is one attempt: read (beginning the transaction), then commit
// or roll back. It returns the transaction id for a retry.
func (f *FirestoreStore) rawVisitOnce(ctx context.Context, name string, views int64, now time.Time, idle time.Duration, retry []byte) (Record, []byte, error) {
	doc, tx, err := f.readDetached(ctx, name, retry)
	if err != nil {
		if tx != nil {
			go f.rollback(ctx, tx)
		}
		return Record{}, tx, err
	}
	var rec Record
	var write *pb.Write
	if doc != nil {
		rec = decodeFields(doc.Fields)
	}
	switch {
	case doc == nil:
		go f.rollback(ctx, tx)
		return Record{}, tx, ErrNotFound
	case !rec.live(now):
		write = &pb.Write{Operation: &pb.Write_Delete{Delete: name}}
	default:
		rec.Views += views
		rec.slide(now, idle)
		write = &pb.Write{
			Operation: &pb.Write_Update{Update: &pb.Document{Name: name, Fields: map[string]*pb.Value{
				fieldViews:   {ValueType: &pb.Value_IntegerValue{IntegerValue: rec.Views}},
				fieldExpires: {ValueType: &pb.Value_TimestampValue{TimestampValue: timestamppb.New(rec.Expires)}},
			}}},
			UpdateMask:      &pb.DocumentMask{FieldPaths: []string{fieldViews, fieldExpires}},
			CurrentDocument: &pb.Precondition{ConditionType: &pb.Precondition_Exists{Exists: true}},
		}
	}
	// No automatic retry of the commit: a retry after a lost answer can fail
	// although the first attempt committed. An unknown outcome is an error
	// for the request, never a blind second increment.
	_, err = f.raw.Commit(ctx, &pb.CommitRequest{Database: f.database, Writes: []*pb.Write{write}, Transaction: tx},
		gax.WithRetry(func() gax.Retryer { return nil }))
	if err != nil {
		if status.Code(err) != codes.Aborted {
			go f.rollback(ctx, tx) // an aborted transaction is closed already
		}
		return Record{}, tx, err
	}
	if write.GetDelete() != "" {
		return Record{}, tx, ErrNotFound
	}
	return rec, tx, nil
}

// readDetached is rawRead, finished even when ctx ends first. A read cut
// off before its answer names the transaction it began leaves that
// transaction, and its lock, with no id to roll it back by; so the read
// runs to its end on a context of its own (as long as the lock would last:
// a server that hangs for a while and comes back must still be told), and
// when the caller has given up by then, the transaction is rolled back in
// the background.
func (f *FirestoreStore) readDetached(ctx context.Context, name string, retry []byte) (*pb.Document, []byte, error) {
	type result struct {
		doc *pb.Document
		tx  []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockLifetime)
		defer cancel()
		doc, tx, err := f.rawRead(rctx, name, retry)
		done <- result{doc, tx, err}
	}()
	select {
	case r := <-done:
		return r.doc, r.tx, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.tx != nil {
				f.rollback(ctx, r.tx)
			}
		}()
		return nil, nil, ctx.Err()
	}
}

// rawRead reads document name and begins a read-write transaction with the
// read. doc is nil when the document does not exist. The transaction id
// may come in a message of its own, before or beside the document's: the
// whole stream is read.
func (f *FirestoreStore) rawRead(ctx context.Context, name string, retry []byte) (doc *pb.Document, tx []byte, err error) {
	stream, err := f.raw.BatchGetDocuments(ctx, &pb.BatchGetDocumentsRequest{
		Database:  f.database,
		Documents: []string{name},
		ConsistencySelector: &pb.BatchGetDocumentsRequest_NewTransaction{NewTransaction: &pb.TransactionOptions{
			Mode: &pb.TransactionOptions_ReadWrite_{ReadWrite: &pb.TransactionOptions_ReadWrite{RetryTransaction: retry}},
		}},
	})
	if err != nil {
		return nil, nil, err
	}
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, tx, err
		}
		if len(res.Transaction) > 0 {
			tx = res.Transaction
		}
		if found := res.GetFound(); found != nil {
			doc = found
		}
	}
	if tx == nil {
		return nil, nil, errors.New("firestore began no transaction")
	}
	return doc, tx, nil
}

// rollback ends transaction tx, which would otherwise hold its locks for
// about a minute (the emulator's figure), blocking every writer of the
// session. Callers run it on a goroutine of its own, so that no request
// waits for it beyond its deadline; it keeps trying (the client retries an
// unavailable server) for as long as the lock would last, and it runs even
// when ctx is cancelled: a client that goes away between read and commit
// must not leave the lock behind.
func (f *FirestoreStore) rollback(ctx context.Context, tx []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockLifetime)
	defer cancel()
	_ = f.raw.Rollback(ctx, &pb.RollbackRequest{Database: f.database, Transaction: tx})
}

// lockLifetime is how long the emulator keeps the lock of an abandoned
// transaction: trying longer to end one, or to learn its id, is pointless.
const lockLifetime = 65 * time.Second

// databaseOf returns the database resource name of a document resource
// name: projects/P/databases/D.
func databaseOf(docName string) string {
	db, _, _ := strings.Cut(docName, "/documents/")
	return db
}

// decodeFields returns the record held by a document's fields; like decode,
// it reads what is missing or mistyped as zero.
func decodeFields(fields map[string]*pb.Value) Record {
	var rec Record
	rec.Views = fields[fieldViews].GetIntegerValue()
	rec.Created = fields[fieldCreated].GetTimestampValue().AsTime()
	rec.Expires = fields[fieldExpires].GetTimestampValue().AsTime()
	rec.Deadline = fields[fieldDeadline].GetTimestampValue().AsTime()
	if m := fields[fieldValues].GetMapValue(); m != nil {
		rec.Values = make(map[string]any, len(m.Fields))
		for k, v := range m.Fields {
			if x, ok := fromProto(v); ok {
				rec.Values[k] = x
			}
		}
	}
	return rec
}

// fromProto converts the value types a Session stores.
func fromProto(v *pb.Value) (any, bool) {
	switch x := v.GetValueType().(type) {
	case *pb.Value_StringValue:
		return x.StringValue, true
	case *pb.Value_IntegerValue:
		return x.IntegerValue, true
	case *pb.Value_DoubleValue:
		return x.DoubleValue, true
	case *pb.Value_BooleanValue:
		return x.BooleanValue, true
	case *pb.Value_TimestampValue:
		return x.TimestampValue.AsTime(), true
	case *pb.Value_BytesValue:
		return x.BytesValue, true
	}
	return nil, false
}
