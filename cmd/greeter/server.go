package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds the graceful shutdown: Cloud Run kills an instance
// 10 seconds after its SIGTERM.
const shutdownTimeout = 8 * time.Second

// maxHeaderBytes bounds a request's header: the page needs one cookie, and
// net/http's default (1 MiB) lets every connection hold a megabyte.
const maxHeaderBytes = 64 << 10

// A shutdowner is what must finish its work after the last request and
// before the store closes: the sessions' Manager, whose Shutdown waits for
// its background writes.
type shutdowner interface {
	Shutdown(context.Context) error
}

// serve serves h on ln until ctx ends, then stops accepting connections and
// lets the requests in flight finish, and then m's background writes, all
// within shutdownTimeout. It returns nil after a graceful shutdown. The
// caller closes the store after it returns.
func serve(ctx context.Context, ln net.Listener, h http.Handler, m shutdowner, logger *slog.Logger) error {
	srv := &http.Server{
		Handler: h,
		// Limits fit for serving the internet directly, as on Cloud Run. A
		// slow client gets 5 s to send its headers, of at most
		// maxHeaderBytes (larger: 431), so a half-sent header holds little
		// memory for little time.
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadTimeout:       10 * time.Second,
		// Above the middleware's two store calls of at most 5 s each.
		WriteTimeout: 20 * time.Second,
		// Keep-alive connections idle for longer are closed.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err // Serve failed before any shutdown
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for requests in flight", "timeout", shutdownTimeout.String())
	// The requests in flight are not cancelled: they finish on their own
	// contexts, which ctx is not a parent of.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// The requests are done; a write they left to the Manager may not be.
	if err := m.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}
