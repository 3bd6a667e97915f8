// Command tutorial serves the Go port of the Flask app of Google's
// "Handling sessions with Firestore" tutorial (package tutorial), the
// baseline of the load benchmarks, on 127.0.0.1:$PORT (default 8080), with
// Firestore project $GOOGLE_CLOUD_PROJECT (on the emulator named by
// FIRESTORE_EMULATOR_HOST, if set). It stops on SIGTERM or ^C.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/firestore-sessions/sessions/bench/tutorial"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "tutorial: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	project := os.Getenv("GOOGLE_CLOUD_PROJECT")
	if project == "" {
		project = firestore.DetectProjectID
	}
	client, err := firestore.NewClient(context.WithoutCancel(ctx), project)
	if err != nil {
		return err
	}
	defer client.Close()
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: tutorial.Handler(client), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
