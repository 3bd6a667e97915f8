package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/firestore-sessions/sessions"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// On Google Cloud, log lines are JSON with Cloud Logging's field names.
func TestCloudLogging(t *testing.T) {
	var buf strings.Builder
	logger := newLogger(&buf, true, "")
	logger.Info("listening", "addr", ":8080")
	logger.Warn("slow")
	logger.Error("failed", "err", "boom")

	want := []struct{ severity, message string }{{"INFO", "listening"}, {"WARNING", "slow"}, {"ERROR", "failed"}}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if rec["severity"] != want[i].severity || rec["message"] != want[i].message {
			t.Errorf("line %q: want severity %q, message %q", line, want[i].severity, want[i].message)
		}
		if _, ok := rec["level"]; ok {
			t.Errorf("line %q has level", line)
		}
		if _, ok := rec["msg"]; ok {
			t.Errorf("line %q has msg", line)
		}
	}
	if !strings.Contains(lines[0], `"addr":":8080"`) || !strings.Contains(lines[2], `"err":"boom"`) {
		t.Errorf("attributes lost:\n%s", buf.String())
	}
}

func TestLocalLogging(t *testing.T) {
	var buf strings.Builder
	newLogger(&buf, false, "").Info("listening", "addr", ":8080")
	if line := buf.String(); !strings.Contains(line, "level=INFO msg=listening addr=:8080") {
		t.Errorf("local log line %q, want text", line)
	}
}

// parseJSONLines decodes the JSON log lines in out.
func parseJSONLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// On Google Cloud, a record logged with a span's context names the trace
// and the span in Cloud Logging's fields, at the top level whatever the
// groups; one without a span has none of them.
func TestCloudLoggingTraceFields(t *testing.T) {
	var buf strings.Builder
	logger := newLogger(&buf, true, "my-project")
	traceID, _ := trace.TraceIDFromHex(upstreamTraceID)
	spanID, _ := trace.SpanIDFromHex(upstreamSpanID)
	for _, sampled := range []bool{true, false} {
		var flags trace.TraceFlags
		if sampled {
			flags = trace.FlagsSampled
		}
		ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: traceID, SpanID: spanID, TraceFlags: flags}))
		buf.Reset()
		logger.With("a", 1).WithGroup("g").With("b", 2).ErrorContext(ctx, "failed", "c", 3)
		recs := parseJSONLines(t, buf.String())
		if len(recs) != 1 {
			t.Fatalf("%d lines:\n%s", len(recs), buf.String())
		}
		rec := recs[0]
		if rec[traceKey] != "projects/my-project/traces/"+upstreamTraceID || rec[spanIDKey] != upstreamSpanID || rec[sampledKey] != sampled {
			t.Errorf("sampled %v: line %s, want the trace fields", sampled, buf.String())
		}
		if g, _ := rec["g"].(map[string]any); rec["severity"] != "ERROR" || rec["message"] != "failed" || rec["a"] != 1.0 || g["b"] != 2.0 || g["c"] != 3.0 {
			t.Errorf("line %s: want severity, message and the attributes in their group", buf.String())
		}
	}

	buf.Reset()
	logger.InfoContext(context.Background(), "listening")
	if strings.Contains(buf.String(), "logging.googleapis.com") {
		t.Errorf("line without a span %s has trace fields", buf.String())
	}
}

// Off Google Cloud, or without a project, the lines carry no trace fields.
func TestLoggingWithoutTraceFields(t *testing.T) {
	traceID, _ := trace.TraceIDFromHex(upstreamTraceID)
	spanID, _ := trace.SpanIDFromHex(upstreamSpanID)
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	for _, c := range []struct {
		onCloud bool
		project string
	}{{false, "my-project"}, {true, ""}} {
		var buf strings.Builder
		newLogger(&buf, c.onCloud, c.project).InfoContext(ctx, "hello")
		if strings.Contains(buf.String(), "logging.googleapis.com") || strings.Contains(buf.String(), upstreamTraceID) {
			t.Errorf("on cloud %v, project %q: line %s has trace fields", c.onCloud, c.project, buf.String())
		}
	}
}

// The trace handler keeps slog's rules for attributes and groups.
func TestTraceHandlerIsAHandler(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		buf.Reset()
		return &traceHandler{base: slog.NewJSONHandler(&buf, nil), project: "my-project"}
	}, func(t *testing.T) map[string]any {
		recs := parseJSONLines(t, buf.String())
		if len(recs) != 1 {
			t.Fatalf("%d lines:\n%s", len(recs), buf.String())
		}
		return recs[0]
	})
}

// On Google Cloud, the error line of a request that the store fails names
// the request's trace and its server span, and says it was sampled, so that
// Cloud Logging shows it with the trace.
func TestStoreErrorLogNamesTrace(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close() // nothing listens there now: the store is unreachable
	t.Setenv("FIRESTORE_EMULATOR_HOST", host)
	t.Setenv("K_SERVICE", "greeter")
	t.Setenv("GOOGLE_CLOUD_PROJECT", "demo-traced")
	rcv := newOTLPReceiver(t)
	exportOTLPTo(t, rcv)

	cfg, err := parseConfig(nil, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	project, err := cfg.traceProject(t.Context())
	if err != nil || project != "demo-traced" {
		t.Fatalf("trace project %q, %v; want GOOGLE_CLOUD_PROJECT's", project, err)
	}
	var logs syncBuilder
	logger := newLogger(&logs, cfg.onCloud, project)
	flush := setupTestTelemetry(t, logger)
	store, err := openFirestore(t.Context(), cfg.project, cfg.database, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h, _, err := newHandler(shortCalls{store}, cfg.secure, logger, nil)
	if err != nil {
		t.Fatal(err)
	}

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", upstreamHeader)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d with the store down, want 503", rec.Code)
	}
	flush()

	var server string
	for _, s := range rcv.Spans() {
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			server = hexID(s.SpanId)
		}
	}
	var found bool
	for _, r := range parseJSONLines(t, logs.String()) {
		if r["message"] != "sessions: store failed" {
			continue
		}
		found = true
		if r["severity"] != "ERROR" || r[traceKey] != "projects/demo-traced/traces/"+upstreamTraceID || r[spanIDKey] != server || r[sampledKey] != true {
			t.Errorf("store error line %v, want severity ERROR and the trace fields of trace %s, span %s", r, upstreamTraceID, server)
		}
	}
	if !found || server == "" {
		t.Errorf("server span %q; no store error line in:\n%s", server, logs.String())
	}
}

// shortCalls bounds the calls that a new visitor's request makes to its
// store to 200 ms, where the middleware waits up to 5 s for an unreachable
// store.
type shortCalls struct{ sessions.Store }

func (s shortCalls) Commit(ctx context.Context, ms ...sessions.Mutation) ([]sessions.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	return s.Store.Commit(ctx, ms...)
}

// With no spans exported, a line still names the trace of the request's
// traceparent (Cloud Run's, which its request log names too) and its span.
func TestLogNamesIncomingTraceWithoutExport(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	var logs syncBuilder
	logger := newLogger(&logs, true, "demo-traced")
	setupTestTelemetry(t, logger)
	h, _, err := newHandler(downStore{}, true, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", upstreamHeader)
	h.ServeHTTP(httptest.NewRecorder(), req)

	recs := parseJSONLines(t, logs.String())
	var found bool
	for _, r := range recs {
		if r["message"] != "sessions: store failed" {
			continue
		}
		found = true
		if r[traceKey] != "projects/demo-traced/traces/"+upstreamTraceID || r[spanIDKey] != upstreamSpanID || r[sampledKey] != true {
			t.Errorf("store error line %v, want the trace fields of the traceparent", r)
		}
	}
	if !found {
		t.Errorf("no store error line in:\n%s", logs.String())
	}
}

// downStore is a store whose writes fail at once, as an unavailable
// Firestore's do.
type downStore struct{ sessions.Store }

func (downStore) Commit(context.Context, ...sessions.Mutation) ([]sessions.Record, error) {
	return nil, fmt.Errorf("%w: connection refused", sessions.ErrUnavailable)
}

func (downStore) Get(context.Context, string) (sessions.Record, error) {
	return sessions.Record{}, fmt.Errorf("%w: connection refused", sessions.ErrUnavailable)
}
