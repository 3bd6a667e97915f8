package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/firestore-sessions/sessions"
)

const (
	// collection holds the session documents.
	collection = "sessions"
	// startTimeout bounds the creation of the Firestore client, and then the
	// first read that checks the database.
	startTimeout = 10 * time.Second
	// sweepInterval is how often the memory store drops expired sessions.
	sweepInterval = 10 * time.Minute
)

// openStore returns the session store that cfg selects, and the function
// that releases it once the server has stopped. It does not wait for
// Firestore to answer, so that the greeter listens at once: a first read
// checks the database in the background (checkFirestore), and meanwhile
// the middleware answers 503 while the store fails.
func openStore(ctx context.Context, cfg config, logger *slog.Logger) (sessions.Store, func(), error) {
	if !cfg.firestore {
		logger.Warn("sessions are kept in this process's memory: they are lost on restart and not shared between instances; " +
			"set GOOGLE_CLOUD_PROJECT (or FIRESTORE_EMULATOR_HOST) to keep them in Firestore")
		store := sessions.NewMemoryStore()
		go sweep(ctx, store, logger)
		return store, func() {}, nil
	}
	store, err := openFirestore(ctx, cfg.project, cfg.database, startTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.storeName(), err)
	}
	checkCtx, stopCheck := context.WithCancel(ctx)
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		checkFirestore(checkCtx, store, startTimeout, logger)
	}()
	closeStore := func() {
		stopCheck()
		<-checked
		if err := store.Close(); err != nil {
			logger.Warn("closing the Firestore clients", "err", err)
		}
	}
	return store, closeStore, nil
}

// openFirestore returns a session store on project's Firestore database
// (the one named database names, or the default for "") within timeout.
// It makes the clients without waiting for the database to answer.
func openFirestore(ctx context.Context, project, database string, timeout time.Duration) (*sessions.FirestoreStore, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return sessions.OpenFirestore(ctx, project, sessions.FirestoreConfig{Database: database, Collection: collection})
}

// pinger is the part of a FirestoreStore that checkFirestore uses.
type pinger interface {
	Ping(context.Context) error
}

// checkFirestore reads from the database once, within timeout, and logs
// what it finds: that the database answers; that it does not answer yet
// (it may be starting too); or that it cannot be used (missing, in
// Datastore mode, no permission), which needs a fix. None of these stops
// the greeter: requests get 503 while the store fails, and are served
// again once it answers. It logs nothing when ctx is cancelled first, as
// at shutdown.
func checkFirestore(ctx context.Context, st pinger, timeout time.Duration, logger *slog.Logger) {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := st.Ping(pctx)
	switch {
	case err == nil:
		logger.Info("Firestore answers")
	case ctx.Err() != nil:
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, sessions.ErrUnavailable):
		logger.Warn("Firestore does not answer yet: requests get 503 until it does", "err", err)
	default:
		logger.Error("Firestore database unusable: requests get 503 until it is fixed", "err", err)
	}
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
