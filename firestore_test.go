package sessions

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	"github.com/firestore-sessions/sessions/internal/emulator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rpcCounter counts the gRPC calls made through a connection, by method.
type rpcCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *rpcCounter) add(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method[strings.LastIndex(method, "/")+1:]]++
}

// take returns the calls counted since the last take, and their total.
func (c *rpcCounter) take() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls, total := c.calls, 0
	for _, n := range calls {
		total += n
	}
	c.calls = map[string]int{}
	return calls, total
}

// countedClients returns both Firestore clients of a project on the
// emulator, connected through one connection that counts every RPC. With
// FIRESTORE_EMULATOR_HOST set, the firestore package ignores dial options,
// but not a connection of the caller's.
func countedClients(t *testing.T) (*firestore.Client, *apiv1.Client, *rpcCounter) {
	t.Helper()
	host := emulator.Require(t)
	rpcs := &rpcCounter{calls: map[string]int{}}
	conn, err := grpc.NewClient("passthrough:///"+host,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(emulatorOwner{}),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			rpcs.add(method)
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			rpcs.add(method)
			return streamer(ctx, desc, cc, method, opts...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx := context.Background()
	client, err := firestore.NewClient(ctx, emulator.ProjectID(t), option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := apiv1.NewClient(ctx, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	return client, raw, rpcs
}

func TestFirestoreRoundTripsPerView(t *testing.T) {
	client, raw, rpcs := countedClients(t)
	for _, tc := range []struct {
		name      string
		raw       *apiv1.Client
		returning int
	}{
		{"RunTransaction", nil, 3},
		{"raw", raw, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := NewFirestoreStore(client, FirestoreConfig{Raw: tc.raw, Collection: "sessions_" + tc.name})
			v := &visitor{t: t, h: newManager(t, st, Config{}).Middleware(greet)}
			rpcs.take()
			v.get("/")
			calls, total := rpcs.take()
			t.Logf("new visitor: %d RPCs %v", total, calls)
			if total != 1 {
				t.Errorf("new visitor: %d RPCs %v, want 1 (Commit)", total, calls)
			}
			const n = 10
			for range n {
				v.get("/")
			}
			calls, total = rpcs.take()
			t.Logf("returning visitor: %.1f RPCs per view %v", float64(total)/n, calls)
			if total != tc.returning*n {
				t.Errorf("returning visitor: %d RPCs for %d views %v, want %d per view", total, n, calls, tc.returning)
			}
			if got := views(t, v.get("/").body); got != n+2 {
				t.Errorf("count = %d, want %d", got, n+2)
			}
		})
	}
}

// A visit cut off by its deadline must not leave its transaction's lock
// behind: the emulator would hold it for a minute and fail every later
// writer of the session after two seconds.
func TestAbandonedVisitsLeaveNoLock(t *testing.T) {
	client, raw, _ := countedClients(t)
	for name, st := range map[string]*FirestoreStore{
		"RunTransaction": NewFirestoreStore(client, FirestoreConfig{Collection: "a"}),
		"raw":            NewFirestoreStore(client, FirestoreConfig{Collection: "b", Raw: raw}),
	} {
		t.Run(name, func(t *testing.T) {
			id := newID()
			if err := st.Create(context.Background(), id, testRecord(storeNow())); err != nil {
				t.Fatal(err)
			}
			cut := 0
			for i := range 30 {
				// Deadlines from 0.1 to 3 ms land before, inside and after
				// the read.
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i+1)*100*time.Microsecond)
				_, err := st.Visit(ctx, id, 1, storeNow(), time.Hour)
				cancel()
				if err != nil {
					cut++
				}
				// The next writer gets through well before the emulator's
				// two-second lock timeout.
				ctx, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond)
				err = st.Update(ctx, id, map[string]any{"i": i}, nil)
				cancel()
				if err != nil {
					t.Fatalf("write after abandoned visit %d: %v", i, err)
				}
			}
			t.Logf("%d of 30 visits cut off by their deadline", cut)
			if cut == 0 {
				t.Skip("no visit was cut off: the machine is too fast for these deadlines")
			}
		})
	}
}

func TestFirestoreErrorsKeepTheirCause(t *testing.T) {
	st, _ := firestoreStore(t, FirestoreConfig{})
	err := st.Update(context.Background(), newID(), map[string]any{"k": "v"}, nil)
	if !errors.Is(err, ErrNotFound) || code(err).String() != "NotFound" {
		t.Errorf("update of a missing session: %v (code %v), want ErrNotFound with gRPC NotFound", err, code(err))
	}
}

func TestOpenFirestorePingAndClose(t *testing.T) {
	st, _ := openFirestore(t, FirestoreConfig{})
	if err := st.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := st.Ping(context.Background()); err == nil {
		t.Error("Ping on closed clients succeeded")
	}
}
