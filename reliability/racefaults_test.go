package reliability

import (
	"context"
	"errors"
	"github.com/firestore-sessions/sessions/internal/tcpproxy"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// lostAnswers is the gRPC client interceptor of one race-suite instance:
// at a given rate it lets the emulator apply a call and then replaces the
// answer with UNAVAILABLE or DEADLINE_EXCEEDED, as a network that loses
// the answer on its way back would. The caller cannot tell whether the
// call took effect; the library must treat such outcomes as unknown. Half
// of the lost answers of unary calls take a while (slowLoss) before the
// error comes, as on a slow network: other requests run meanwhile, on a
// state that the call has already changed.
type lostAnswers struct {
	mu   sync.Mutex
	rng  *rand.Rand
	rate float64 // probability that a call's answer is replaced

	injected atomic.Int64 // answers replaced
}

func newLostAnswers(seed uint64, rate float64) *lostAnswers {
	return &lostAnswers{rng: rand.New(rand.NewPCG(seed, 0x1057)), rate: rate}
}

// hit draws whether the next call loses its answer, with which code, and
// how long the lost answer takes (0 for at once).
func (l *lostAnswers) hit() (codes.Code, time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rng.Float64() >= l.rate {
		return codes.OK, 0, false
	}
	code := codes.DeadlineExceeded
	if l.rng.IntN(2) == 0 {
		code = codes.Unavailable
	}
	return code, slowLoss(l.rng), true
}

// slowLoss draws how long a lost answer takes: half of them at once, the
// others 20 to 200 ms.
func slowLoss(rng *rand.Rand) time.Duration {
	if rng.IntN(2) == 0 {
		return 0
	}
	return time.Duration(20+rng.IntN(181)) * time.Millisecond
}

// hold waits d, or until ctx ends: a lost answer on a slow network.
func hold(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (l *lostAnswers) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	code, slow, hit := l.hit()
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil || !hit {
		return err
	}
	l.injected.Add(1)
	hold(ctx, slow)
	return status.Errorf(code, "race suite: the answer of %s was lost after the server applied it", method)
}

func (l *lostAnswers) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	code, _, hit := l.hit()
	if !hit {
		return streamer(ctx, desc, cc, method, opts...)
	}
	ctx, cancel := context.WithCancel(ctx)
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &lostStream{ClientStream: cs, cancel: cancel, code: code, method: method, l: l}, nil
}

// lostStream receives the first answer of a stream from the server, then
// drops it and ends the stream with an error in its place.
type lostStream struct {
	grpc.ClientStream
	cancel context.CancelFunc
	code   codes.Code
	method string
	l      *lostAnswers
	done   bool
}

func (s *lostStream) RecvMsg(m any) error {
	if s.done {
		return status.Errorf(s.code, "race suite: stream %s already failed", s.method)
	}
	err := s.ClientStream.RecvMsg(m)
	s.done = true
	s.cancel()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	s.l.injected.Add(1)
	return status.Errorf(s.code, "race suite: the answer of %s was lost after the server sent it", s.method)
}

// faultyConn dials the emulator through proxy, with the interceptor in the
// connection, as the emulator's admin (as the firestore library does for
// FIRESTORE_EMULATOR_HOST), reconnecting quickly after a reset.
func faultyConn(proxy *tcpproxy.Proxy, l *lostAnswers) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+proxy.Addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(raceOwnerCreds{}),
		grpc.WithUnaryInterceptor(l.unary),
		grpc.WithStreamInterceptor(l.stream),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: time.Second,
		}),
	)
}

// raceOwnerCreds makes gRPC calls as the emulator's admin.
type raceOwnerCreds struct{}

func (raceOwnerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (raceOwnerCreds) RequireTransportSecurity() bool { return false }
