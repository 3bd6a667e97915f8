package sessions

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pb "cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/firestore-sessions/sessions/internal/emulator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Fault injection for the Firestore store: a connection to the emulator
// whose next call of a method can be let through to the server and then
// have its answer replaced by an error, as when a network drops the answer
// of a call that was applied, or be followed by a hook that runs before the
// caller sees the answer, to make another operation land right there.

// faults holds the faults armed on a faultyConn.
type faults struct {
	mu    sync.Mutex
	armed []*fault
}

// A fault acts on the first call of method (the short name, such as
// "Commit" or "RunQuery") whose request match accepts, once.
type fault struct {
	method string
	match  func(req any) bool // nil: any call of method
	// after, when set, runs right after the server answered, before the
	// caller gets the answer.
	after func()
	// err, when set, is the answer the caller gets instead of the server's.
	err error

	fired chan struct{} // closed once the fault acted
}

// arm adds a fault and returns it.
func (f *faults) arm(fl *fault) *fault {
	fl.fired = make(chan struct{})
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = append(f.armed, fl)
	return fl
}

// hasFired reports whether fl acted.
func (fl *fault) hasFired() bool {
	select {
	case <-fl.fired:
		return true
	default:
		return false
	}
}

// take removes and returns the first armed fault for a call of method with
// request req, if any.
func (f *faults) take(method string, req any) *fault {
	method = method[strings.LastIndex(method, "/")+1:]
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, fl := range f.armed {
		if fl.method == method && (fl.match == nil || fl.match(req)) {
			f.armed = slices.Delete(f.armed, i, i+1)
			return fl
		}
	}
	return nil
}

// act runs fl after the server answered with err, and returns the answer
// the caller gets.
func (fl *fault) act(err error) error {
	if fl == nil {
		return err
	}
	if fl.after != nil {
		fl.after()
	}
	close(fl.fired)
	if fl.err != nil {
		return fl.err
	}
	return err
}

// faultyConn returns a connection to the emulator on which faults can be
// armed, as a client option for openStore.
func faultyConn(t *testing.T) (option.ClientOption, *faults) {
	t.Helper()
	host := emulator.Require(t)
	f := &faults{}
	conn, err := grpc.NewClient("passthrough:///"+host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(emulatorOwner{}),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			err := invoker(ctx, method, req, reply, cc, opts...)
			return f.take(method, req).act(err)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return s, err
			}
			return &faultyStream{ClientStream: s, f: f, method: method}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return option.WithGRPCConn(conn), f
}

// faultyStream applies the faults of a server-streaming call once its
// server has sent the last message.
type faultyStream struct {
	grpc.ClientStream
	f      *faults
	method string
	req    any
	once   sync.Once
}

func (s *faultyStream) SendMsg(m any) error {
	s.req = m
	return s.ClientStream.SendMsg(m)
}

func (s *faultyStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		return nil
	}
	s.once.Do(func() {
		got := s.f.take(s.method, s.req).act(err)
		if !errors.Is(got, err) {
			err = got
		}
	})
	if err == io.EOF {
		return io.EOF
	}
	return err
}

// lost is the error of a call whose answer was lost on the way back.
func lost(c codes.Code) error { return status.Error(c, "injected: the answer was lost") }

// Matchers of Commit requests, by what the store sends.

// writesOf returns the writes of a Commit request.
func writesOf(req any) []*pb.Write {
	if c, ok := req.(*pb.CommitRequest); ok {
		return c.GetWrites()
	}
	return nil
}

// isCreate matches the Commit that creates one new session document.
func isCreate(req any) bool {
	w := writesOf(req)
	return len(w) == 1 && w[0].GetUpdate() != nil && w[0].GetCurrentDocument().GetConditionType() != nil &&
		!w[0].GetCurrentDocument().GetExists()
}

// isRename matches the Commit that moves a session to a new id: a create,
// a delete, and what it leaves under the old id.
func isRename(req any) bool {
	w := writesOf(req)
	return len(w) >= 3 && slices.ContainsFunc(w, func(w *pb.Write) bool { return w.GetDelete() != "" })
}

// masks matches a Commit with a field-level update whose mask names field.
func masks(field string) func(req any) bool {
	return func(req any) bool {
		return slices.ContainsFunc(writesOf(req), func(w *pb.Write) bool {
			return slices.Contains(w.GetUpdateMask().GetFieldPaths(), field)
		})
	}
}

// testClock is a settable clock, shared by the Managers of one test
// (Config.Clock).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
