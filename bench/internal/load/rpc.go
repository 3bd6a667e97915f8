package load

import (
	"context"
	"maps"
	"path"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// RPCCounter counts the Firestore RPCs sent through a gRPC connection, by
// method name ("Commit", "BatchGetDocuments", ...). A streaming call counts
// once, when it opens.
type RPCCounter struct {
	mu     sync.Mutex
	counts map[string]int64
	times  map[string]time.Duration
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
	err := invoker(ctx, method, req, reply, cc, opts...)
	c.add(method, 1, time.Since(t0))
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
}

func (s *timedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.once.Do(func() { s.c.add(s.method, 0, time.Since(s.t0)) })
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
