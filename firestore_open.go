package sessions

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
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
// (firestore.DetectProjectID to take it from the environment), the one
// cfg.Database names or the project's default, and returns a session store
// on it. Like firestore.NewClient, it connects to the emulator
// when FIRESTORE_EMULATOR_HOST is set; opts are passed to the clients it
// makes (an option.WithGRPCConn of the caller's is used as it is). Close the
// store to close them.
//
// ctx bounds the set-up (finding the project and credentials, which can wait
// on the metadata server): when it ends first, OpenFirestore returns its
// error and closes the clients if they come later. The clients keep ctx's
// values, but not its cancellation or deadline, for the credentials they
// refresh afterwards. Connections are made lazily: call
// [FirestoreStore.Ping] to know that the database answers.
func OpenFirestore(ctx context.Context, projectID string, cfg FirestoreConfig, opts ...option.ClientOption) (*FirestoreStore, error) {
	type result struct {
		f   *FirestoreStore
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := openFirestore(context.WithoutCancel(ctx), projectID, cfg, opts)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.f != nil {
				_ = r.f.Close()
			}
		}()
		return nil, fmt.Errorf("sessions: open firestore: %w", ctx.Err())
	}
}

// openFirestore makes the store's two clients: firestore.Client for reads,
// creates, updates and queries, and the low-level client for the Commit of
// a visit, which must not be retried blindly.
func openFirestore(ctx context.Context, projectID string, cfg FirestoreConfig, opts []option.ClientOption) (*FirestoreStore, error) {
	if cfg.Collection == "" {
		cfg.Collection = defaultCollection
	}
	if len(cfg.Collection) > maxCollectionLen || strings.Contains(cfg.Collection, "/") || !validFieldName(cfg.Collection) || cfg.Collection == "." || cfg.Collection == ".." {
		return nil, fmt.Errorf("sessions: FirestoreConfig.Collection %q: a collection id of at most %d bytes, without /", truncate(cfg.Collection, 40), maxCollectionLen)
	}
	tel, err := newStoreTelemetry(cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("sessions: telemetry: %w", err)
	}
	f := &FirestoreStore{cache: newRecordCache(cfg), tel: tel}
	if host := os.Getenv("FIRESTORE_EMULATOR_HOST"); host != "" {
		// As firestore.NewClient does for the emulator, but with one
		// connection for both clients, and the caller's options after it.
		conn, err := grpc.NewClient("passthrough:///"+host,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(emulatorOwner{}),
			reconnect,
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
		if err != nil {
			return nil, fmt.Errorf("sessions: firestore emulator %s: %w", host, err)
		}
		f.closers = append(f.closers, conn.Close)
		opts = append([]option.ClientOption{option.WithGRPCConn(conn)}, opts...)
	} else {
		opts = append([]option.ClientOption{option.WithGRPCDialOption(reconnect)}, opts...)
	}
	var client *firestore.Client
	if cfg.Database == "" || cfg.Database == firestore.DefaultDatabaseID {
		client, err = firestore.NewClient(ctx, projectID, opts...)
	} else {
		client, err = firestore.NewClientWithDatabase(ctx, projectID, cfg.Database, opts...)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sessions: firestore client: %w", err)
	}
	f.closers = append(f.closers, client.Close)
	raw, err := apiv1.NewClient(ctx, opts...)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sessions: firestore client: %w", err)
	}
	f.closers = append(f.closers, raw.Close)
	f.client, f.raw = client, raw
	f.coll = client.Collection(cfg.Collection)
	f.database, _, _ = strings.Cut(f.coll.Path, "/documents/") // projects/P/databases/D, cfg.Database's
	return f, nil
}

// Close closes the store's clients. Closing twice is not an error.
func (f *FirestoreStore) Close() error {
	var errs []error
	for i := len(f.closers) - 1; i >= 0; i-- {
		// The clients close a shared connection: the last to close finds it
		// closing, which is no failure.
		if err := f.closers[i](); status.Code(err) != codes.Canceled {
			errs = append(errs, err)
		}
	}
	f.closers = nil
	return errors.Join(errs...)
}

// Ping reads a document that does not exist, to check at start-up that the
// database can be used: a missing database, one in Datastore mode, a
// disabled API, missing permissions or an unreachable server all fail it,
// where a missing document is no error.
func (f *FirestoreStore) Ping(ctx context.Context) error {
	_, err := f.client.GetAll(ctx, []*firestore.DocumentRef{f.coll.Doc("ping")})
	return storeError("ping", err)
}

// reconnect bounds gRPC's reconnection backoff, which grows to two minutes
// by default: a connection is tried again at least every 600 ms, so that
// service resumes within about a second of the database coming back, the
// middleware's probes (every 500 ms) included. A connection attempt to a
// database that is down is one refused TCP connect.
var reconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
	MinConnectTimeout: 5 * time.Second,
})

// emulatorOwner authenticates to the emulator as its owner, as the
// firestore package does.
type emulatorOwner struct{}

func (emulatorOwner) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (emulatorOwner) RequireTransportSecurity() bool { return false }
