package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/firestore-sessions/sessions"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	// collection holds the session documents.
	collection = "sessions"
	// startTimeout bounds the creation of the Firestore client, and then the
	// first read that proves the database usable.
	startTimeout = 10 * time.Second
	// sweepInterval is how often the memory store drops expired sessions.
	sweepInterval = 10 * time.Minute
)

// openStore returns the session store that cfg selects, and the function
// that releases it once the server has stopped.
func openStore(ctx context.Context, cfg config, logger *slog.Logger) (sessions.Store, func(), error) {
	if !cfg.firestore {
		logger.Warn("sessions are kept in this process's memory: they are lost on restart and not shared between instances; " +
			"set GOOGLE_CLOUD_PROJECT (or FIRESTORE_EMULATOR_HOST) to keep them in Firestore")
		store := sessions.NewMemoryStore()
		go sweep(ctx, store, logger)
		return store, func() {}, nil
	}
	store, err := openFirestore(ctx, cfg.project, cfg.database, startTimeout, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.storeName(), err)
	}
	closeStore := func() {
		if err := store.Close(); err != nil {
			logger.Warn("closing the Firestore clients", "err", err)
		}
	}
	return store, closeStore, nil
}

// openFirestore returns a session store on project's Firestore database
// (the one named database names, or the default for "") within timeout. A first read checks the database: one that cannot be used
// (missing, in Datastore mode, no permission) stops the start; one that does
// not answer yet does not, since it may be starting too: requests get 503
// until it answers, and the greeter recovers by itself.
func openFirestore(ctx context.Context, project, database string, timeout time.Duration, logger *slog.Logger) (*sessions.FirestoreStore, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := sessions.OpenFirestore(ctx, project, sessions.FirestoreConfig{Database: database, Collection: collection})
	if err != nil {
		return nil, err
	}
	switch err := st.Ping(ctx); {
	case err == nil:
	case errors.Is(err, context.DeadlineExceeded), status.Code(err) == codes.Unavailable, status.Code(err) == codes.DeadlineExceeded:
		logger.Warn("Firestore does not answer yet: requests get 503 until it does", "err", err)
	default:
		st.Close()
		return nil, fmt.Errorf("database unusable: %w", err)
	}
	return st, nil
}

// sweep drops the memory store's expired sessions now and then, until ctx
// ends.
func sweep(ctx context.Context, store *sessions.MemoryStore, logger *slog.Logger) {
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if _, err := store.DeleteExpired(ctx, now); err != nil && ctx.Err() == nil {
				logger.Warn("deleting expired sessions", "err", err)
			}
		}
	}
}
