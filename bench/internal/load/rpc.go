package load

import (
	"context"
	"errors"
	"io"
	"maps"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/firestore"
	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// RPCCounter counts the Firestore RPCs sent through a gRPC connection, by
// method name ("Commit", "BatchGetDocuments", ...). A streaming call counts
// once, when it opens.
type RPCCounter struct {
	mu     sync.Mutex
	counts map[string]int64
	times  map[string]time.Duration
	// samples keeps each call's duration, by method, while keep is set.
	samples map[string][]time.Duration
	keep    atomic.Bool
	docs    DocOps
}

// KeepSamples makes the counter keep every call's duration (see Samples),
// or stop keeping them.
func (c *RPCCounter) KeepSamples(on bool) { c.keep.Store(on) }

// DocOps counts billable document operations: documents read (returned
// by BatchGetDocuments and RunQuery, a query that finds none counting one),
// written and deleted (the writes of Commit and BatchWrite requests that
// succeeded). Refused counts the writes and deletes of requests that
// failed (a refused conditional Commit, say), which are not billed.
type DocOps struct {
	Reads   int64 `json:"reads"`
	Writes  int64 `json:"writes"`
	Deletes int64 `json:"deletes"`
	Refused int64 `json:"refused,omitempty"`
}

func (d DocOps) plus(e DocOps) DocOps {
	return DocOps{d.Reads + e.Reads, d.Writes + e.Writes, d.Deletes + e.Deletes, d.Refused + e.Refused}
}

func (d DocOps) minus(e DocOps) DocOps {
	return DocOps{d.Reads - e.Reads, d.Writes - e.Writes, d.Deletes - e.Deletes, d.Refused - e.Refused}
}

// Plus returns d and e added.
func (d DocOps) Plus(e DocOps) DocOps { return d.plus(e) }

// settle counts the writes of a request that succeeded, or (failed) as
// refused.
func (c *RPCCounter) settle(writes DocOps, failed bool) {
	if failed {
		writes = DocOps{Refused: writes.Writes + writes.Deletes}
	}
	c.addDocs(writes)
}

// Docs returns the document operations counted so far.
func (c *RPCCounter) Docs() DocOps {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs
}

func (c *RPCCounter) addDocs(d DocOps) {
	if d == (DocOps{}) {
		return
	}
	c.mu.Lock()
	c.docs = c.docs.plus(d)
	c.mu.Unlock()
}

// decode returns msg as the message m, which it is, or whose encoding it
// holds (a proxied frame); nil when it is neither.
func decodeAs[M proto.Message](msg any, m M) M {
	switch v := msg.(type) {
	case M:
		return v
	case *frame:
		if proto.Unmarshal(v.b, m) == nil {
			return m
		}
	}
	var zero M
	return zero
}

// writeOps counts the document writes and deletes of writes.
func writeOps(writes []*pb.Write) DocOps {
	var d DocOps
	for _, w := range writes {
		if w.GetDelete() != "" {
			d.Deletes++
		} else {
			d.Writes++
		}
	}
	return d
}

// sent returns the document writes a request of method carries.
func sent(method string, msg any) DocOps {
	switch path.Base(method) {
	case "Commit":
		if r := decodeAs(msg, &pb.CommitRequest{}); r != nil {
			return writeOps(r.GetWrites())
		}
	case "BatchWrite":
		if r := decodeAs(msg, &pb.BatchWriteRequest{}); r != nil {
			return writeOps(r.GetWrites())
		}
	}
	return DocOps{}
}

// received counts the documents an answer of method returns; it reports
// whether the answer returned a document.
func (c *RPCCounter) received(method string, msg any) bool {
	switch path.Base(method) {
	case "BatchGetDocuments":
		if r := decodeAs(msg, &pb.BatchGetDocumentsResponse{}); r != nil && r.GetResult() != nil {
			c.addDocs(DocOps{Reads: 1}) // a missing document is billed as a read too
			return true
		}
	case "RunQuery":
		if r := decodeAs(msg, &pb.RunQueryResponse{}); r != nil && r.GetDocument() != nil {
			c.addDocs(DocOps{Reads: 1})
			return true
		}
	}
	return false
}

// add counts n calls of method taking d in all.
func (c *RPCCounter) add(fullMethod string, n int64, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[string]int64)
		c.times = make(map[string]time.Duration)
	}
	m := path.Base(fullMethod)
	c.counts[m] += n
	c.times[m] += d
	if c.keep.Load() && n > 0 && d > 0 { // a unary call
		c.addSample(m, d)
	}
}

// sample keeps d as the duration of one call of what (a stream's).
func (c *RPCCounter) sample(what string, d time.Duration) {
	if !c.keep.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addSample(what, d)
}

func (c *RPCCounter) addSample(what string, d time.Duration) {
	if c.samples == nil {
		c.samples = make(map[string][]time.Duration)
	}
	c.samples[what] = append(c.samples[what], d)
}

// Samples returns and forgets the durations of the calls kept so far, by
// method (nil unless KeepSamples).
func (c *RPCCounter) Samples() map[string][]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.samples
	c.samples = nil
	return s
}

// Times returns the total time spent in each method so far (for a stream:
// from its opening to its end).
func (c *RPCCounter) Times() map[string]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.times)
}

// Snapshot returns the counts so far.
func (c *RPCCounter) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

func (c *RPCCounter) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	t0 := time.Now()
	writes := sent(method, req)
	err := invoker(ctx, method, req, reply, cc, opts...)
	c.add(method, 1, time.Since(t0))
	c.settle(writes, err != nil)
	if err == nil {
		c.received(method, reply)
	}
	return err
}

func (c *RPCCounter) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c.add(method, 1, 0)
	t0 := time.Now()
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		c.add(method, 0, time.Since(t0))
		return nil, err
	}
	return &timedStream{ClientStream: s, c: c, method: method, t0: t0}, nil
}

// timedStream adds a stream's duration to its method's time when the stream
// ends (RecvMsg returns an error, io.EOF included).
type timedStream struct {
	grpc.ClientStream
	c      *RPCCounter
	method string
	t0     time.Time
	once   sync.Once
	found  bool // a document came back

	// SendMsg and RecvMsg may run on different goroutines (the proxy's).
	mu     sync.Mutex
	kind   string // what the request asked, for the samples: see kindOf
	writes DocOps // of the request, counted when the answer comes
}

func (s *timedStream) SendMsg(m any) error {
	writes, kind := sent(s.method, m), ""
	if s.c.keep.Load() {
		kind = kindOf(s.method, m)
	}
	s.mu.Lock()
	s.writes = s.writes.plus(writes)
	if kind != "" {
		s.kind = kind
	}
	s.mu.Unlock()
	return s.ClientStream.SendMsg(m)
}

// kindOf names the shape of a request, for the samples of durations: a
// Commit conditional on a version ("cas"), one with a transform ("inc"),
// one in a transaction ("tx"); a read in a transaction ("tx").
func kindOf(method string, msg any) string {
	switch path.Base(method) {
	case "Commit":
		r := decodeAs(msg, &pb.CommitRequest{})
		switch {
		case r == nil || len(r.GetWrites()) == 0:
		case len(r.GetTransaction()) > 0:
			return "tx"
		case len(r.GetWrites()[0].GetUpdateTransforms()) > 0:
			return "inc"
		case r.GetWrites()[0].GetCurrentDocument().GetUpdateTime() != nil:
			return "cas"
		}
	case "BatchGetDocuments":
		if r := decodeAs(msg, &pb.BatchGetDocumentsRequest{}); r != nil && (r.GetTransaction() != nil || r.GetNewTransaction() != nil) {
			return "tx"
		}
	}
	return ""
}

func (s *timedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil && s.c.received(s.method, m) {
		s.found = true
	}
	s.mu.Lock()
	writes, kind := s.writes, s.kind
	if err == nil || !errors.Is(err, io.EOF) {
		s.writes = DocOps{}
	}
	s.mu.Unlock()
	if writes != (DocOps{}) && (err == nil || !errors.Is(err, io.EOF)) {
		s.c.settle(writes, err != nil) // the answer, or the failure
	}
	if err != nil {
		s.once.Do(func() {
			m := path.Base(s.method)
			if kind != "" {
				m += "+" + kind
			}
			if code := status.Code(err); code != codes.OK && !errors.Is(err, io.EOF) {
				m += "/" + code.String()
			}
			s.c.sample(m, time.Since(s.t0))
			s.c.add(s.method, 0, time.Since(s.t0))
			if !s.found && path.Base(s.method) == "RunQuery" && errors.Is(err, io.EOF) {
				s.c.addDocs(DocOps{Reads: 1}) // a query is billed one read when it finds nothing
			}
		})
	}
	return err
}

// diff returns after-before, by method, without zero entries.
func diff(after, before map[string]int64) map[string]int64 {
	d := make(map[string]int64)
	for k, v := range after {
		if n := v - before[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// ownerCreds authenticates as the emulator's admin ("Bearer owner").
type ownerCreds struct{}

func (ownerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (ownerCreds) RequireTransportSecurity() bool { return false }

// Dial connects to the Firestore emulator at host ("127.0.0.1:PORT") for
// project (the client must not outlive ctx). When counter is not nil, every RPC of the client is counted in
// it. The client library ignores dial options when FIRESTORE_EMULATOR_HOST
// is set, but it does use a connection handed to it, so the connection is
// made here. The returned conn is closed by client.Close.
func Dial(ctx context.Context, host, project string, counter *RPCCounter) (*firestore.Client, *grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(ownerCreds{}),
	}
	if counter != nil {
		opts = append(opts, grpc.WithUnaryInterceptor(counter.unary), grpc.WithStreamInterceptor(counter.stream))
	}
	conn, err := grpc.NewClient("passthrough:///"+host, opts...)
	if err != nil {
		return nil, nil, err
	}
	client, err := firestore.NewClient(ctx, project, option.WithGRPCConn(conn))
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return client, conn, nil
}
