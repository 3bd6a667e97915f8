package sessions

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"cloud.google.com/go/firestore"
	apiv1 "cloud.google.com/go/firestore/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// OpenFirestore connects to the Firestore database of projectID
// (firestore.DetectProjectID to take it from the environment) and returns a
// store on it with two-round-trip visits: it sets up both the
// firestore.Client and the low-level client that [FirestoreConfig].Raw
// wants, from the same options. Like firestore.NewClient, it connects to the
// emulator when FIRESTORE_EMULATOR_HOST is set. Close the store to close
// both clients.
//
// The clients keep using the context they are made with, to refresh their
// credentials, so OpenFirestore makes them with ctx's values but not its
// cancellation or deadline. Connections are made lazily: call
// [FirestoreStore.Ping] to know that the database answers.
func OpenFirestore(ctx context.Context, projectID string, cfg FirestoreConfig, opts ...option.ClientOption) (*FirestoreStore, error) {
	ctx = context.WithoutCancel(ctx)
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			_ = c()
		}
	}
	if host := os.Getenv("FIRESTORE_EMULATOR_HOST"); host != "" {
		// As firestore.NewClient does for the emulator, but with one
		// connection for both clients, which close it.
		conn, err := grpc.NewClient("passthrough:///"+host,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(emulatorOwner{}),
			reconnect,
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
		if err != nil {
			return nil, fmt.Errorf("sessions: firestore emulator %s: %w", host, err)
		}
		opts = append(opts, option.WithGRPCConn(conn))
	} else {
		opts = append([]option.ClientOption{option.WithGRPCDialOption(reconnect)}, opts...)
	}
	client, err := firestore.NewClient(ctx, projectID, opts...)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("sessions: firestore client: %w", err)
	}
	closers = append(closers, client.Close)
	raw, err := apiv1.NewClient(ctx, opts...)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("sessions: firestore client: %w", err)
	}
	closers = append(closers, raw.Close)
	cfg.Raw = raw
	f := NewFirestoreStore(client, cfg)
	f.closers = closers
	return f, nil
}

// Close closes the clients that [OpenFirestore] opened. For a store made by
// [NewFirestoreStore] it does nothing: the clients are the caller's.
func (f *FirestoreStore) Close() error {
	var errs []error
	for i := len(f.closers) - 1; i >= 0; i-- {
		// Both clients close a shared connection: the second finds it
		// closing, which is no failure.
		if err := f.closers[i](); status.Code(err) != codes.Canceled {
			errs = append(errs, err)
		}
	}
	f.closers = nil
	return errors.Join(errs...)
}

// Client returns the store's firestore.Client.
func (f *FirestoreStore) Client() *firestore.Client { return f.client }

// Ping reads a document that does not exist, to check at start-up that the
// database can be used: a missing database, one in Datastore mode, a
// disabled API, missing permissions or an unreachable server all fail it,
// where a missing document is no error.
func (f *FirestoreStore) Ping(ctx context.Context) error {
	_, err := f.client.GetAll(ctx, []*firestore.DocumentRef{f.coll.Doc("ping")})
	return storeError("ping", err)
}

// reconnect bounds gRPC's reconnection backoff, which grows to two minutes
// by default: after an outage, service resumes within seconds of the
// database coming back (the fault suite measured up to 16 s before).
var reconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 5 * time.Second,
})

// emulatorOwner authenticates to the emulator as its owner, as the
// firestore package does.
type emulatorOwner struct{}

func (emulatorOwner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (emulatorOwner) RequireTransportSecurity() bool { return false }
