// Command greeter is the app of Google's "Handling sessions with Firestore"
// tutorial on top of the sessions middleware: each visitor is greeted in a
// language chosen at random when their session starts, with a count of their
// views.
//
//	go run ./cmd/greeter                                          # sessions in memory
//	FIRESTORE_EMULATOR_HOST=127.0.0.1:8085 go run ./cmd/greeter   # in the emulator
//	GOOGLE_CLOUD_PROJECT=my-project go run ./cmd/greeter          # in Firestore
//
// and then open http://localhost:8080. Configuration comes from the
// environment (PORT, GOOGLE_CLOUD_PROJECT, FIRESTORE_EMULATOR_HOST,
// FIRESTORE_DATABASE for a named database, and K_SERVICE or GAE_SERVICE on Google Cloud), with flags to override it:
// see greeter -h. GREETER_ADOPT_TUTORIAL=1 makes new sessions take over
// those of the tutorial's Python app on the same database, so that its
// visitors keep their greeting and count when the greeter replaces it.
//
// Each request is an OpenTelemetry server span that continues the trace of
// its traceparent header, with the sessions' store calls as its children;
// OpenTelemetry's standard variables export the spans and metrics
// (OTEL_TRACES_EXPORTER=otlp, OTEL_EXPORTER_OTLP_ENDPOINT=..., or console
// for stdout). On Google Cloud, the log lines of a traced request name its
// trace, for Cloud Logging to show them with it. docs/deploy-observability.md
// tells how to see them all in Cloud Trace, Cloud Monitoring and Cloud
// Logging.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	// Cloud Run sends SIGTERM some seconds before it kills an instance; ^C
	// sends SIGINT.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it serves until ctx ends, then shuts down
// gracefully, and returns the exit code: 0 after a graceful shutdown, 2 for
// a configuration error, 1 for any other failure. Logs go to stdout; an
// error that prevents the start goes to stderr as one line.
//
// getenv supplies the configuration; the Firestore client library itself
// also reads FIRESTORE_EMULATOR_HOST and credentials from the process
// environment, and OpenTelemetry its OTEL_* variables.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "greeter: %v\n", err)
		return 2
	}
	project, projectErr := cfg.traceProject(ctx)
	logger := newLogger(stdout, cfg.onCloud, project)
	if projectErr != nil {
		logger.Warn("log lines will not name their traces", "err", projectErr)
	}
	shutdownTelemetry, err := setupTelemetry(ctx, logger)
	if err != nil {
		fmt.Fprintf(stderr, "greeter: %v\n", err)
		return 2
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdownTelemetry(ctx); err != nil {
			logger.Warn("flushing telemetry", "err", err)
		}
	}()

	store, closeStore, err := openStore(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "greeter: %v\n", err)
		return 1
	}
	defer closeStore() // after the server's requests and the Manager's writes

	var adopt adoptFunc
	if cfg.adoptTutorial {
		tutorial, err := openTutorialSessions(ctx, cfg.project, cfg.database, cookieName(cfg.secure))
		if err != nil {
			fmt.Fprintf(stderr, "greeter: %v\n", err)
			return 1
		}
		defer tutorial.Close() // after the server and the Manager are done
		adopt = tutorial.adopt
		logger.Info("new sessions take over the tutorial's", "cookie", tutorialCookie, "expire_cookie", tutorial.clear)
	}

	h, m, err := newHandler(store, cfg.secure, logger, adopt)
	if err != nil {
		fmt.Fprintf(stderr, "greeter: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.addr())
	if err != nil {
		fmt.Fprintf(stderr, "greeter: %v\n", err)
		return 1
	}
	logger.Info("listening", "addr", ln.Addr().String(), "store", cfg.storeName(), "secure_cookie", cfg.secure)
	if err := serve(ctx, ln, h, m, logger); err != nil {
		logger.Error("server stopped", "err", err)
		return 1
	}
	logger.Info("shut down")
	return 0
}
