package main

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP receiver (protobuf encoding) that keeps the
// spans and metrics exported to it.
type otlpReceiver struct {
	URL string // the base URL, for OTEL_EXPORTER_OTLP_ENDPOINT

	mu      sync.Mutex
	spans   []*tracepb.Span
	metrics []*metricpb.Metric
}

// newOTLPReceiver starts a receiver that stops when the test ends.
func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rcv := &otlpReceiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		var req coltracepb.ExportTraceServiceRequest
		if !decodeExport(t, w, r, &req) {
			return
		}
		rcv.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rcv.spans = append(rcv.spans, ss.Spans...)
			}
		}
		rcv.mu.Unlock()
		writeExportResponse(t, w, &coltracepb.ExportTraceServiceResponse{})
	})
	mux.HandleFunc("POST /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		var req colmetricpb.ExportMetricsServiceRequest
		if !decodeExport(t, w, r, &req) {
			return
		}
		rcv.mu.Lock()
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				rcv.metrics = append(rcv.metrics, sm.Metrics...)
			}
		}
		rcv.mu.Unlock()
		writeExportResponse(t, w, &colmetricpb.ExportMetricsServiceResponse{})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rcv.URL = srv.URL
	return rcv
}

func decodeExport(t *testing.T, w http.ResponseWriter, r *http.Request, m proto.Message) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		t.Errorf("%s: Content-Type %q, want application/x-protobuf", r.URL.Path, ct)
		http.Error(w, "protobuf only", http.StatusUnsupportedMediaType)
		return false
	}
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err == nil {
		err = proto.Unmarshal(b, m)
	}
	if err != nil {
		t.Errorf("%s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeExportResponse(t *testing.T, w http.ResponseWriter, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Error(err)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

// Spans returns the spans received so far.
func (rcv *otlpReceiver) Spans() []*tracepb.Span {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]*tracepb.Span(nil), rcv.spans...)
}

// Metrics returns the metrics received so far, by name, the data points of
// each export of a name together.
func (rcv *otlpReceiver) Metrics() map[string][]*metricpb.Metric {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	byName := map[string][]*metricpb.Metric{}
	for _, m := range rcv.metrics {
		byName[m.Name] = append(byName[m.Name], m)
	}
	return byName
}

// exportOTLPTo points the OpenTelemetry exporters at rcv, over OTLP/HTTP
// with protobuf, through OpenTelemetry's standard variables.
func exportOTLPTo(t *testing.T, rcv *otlpReceiver) {
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_METRICS_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
}

// setupTestTelemetry runs setupTelemetry, and when the test ends sets
// OpenTelemetry's globals back to no-ops, so that other tests do not report
// to providers already shut down. Its shutdown function flushes the spans and
// metrics to their exporters.
func setupTestTelemetry(t *testing.T, logger *slog.Logger) func() {
	t.Helper()
	t.Cleanup(func() {
		otel.SetTracerProvider(tracenoop.NewTracerProvider())
		otel.SetMeterProvider(metricnoop.NewMeterProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	})
	shutdown, err := setupTelemetry(context.Background(), logger)
	if err != nil {
		t.Fatal(err)
	}
	done := false
	flush := func() {
		if done {
			return
		}
		done = true
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("telemetry shutdown: %v", err)
		}
	}
	t.Cleanup(flush)
	return flush
}

// The IDs of a traceparent header that tests send, as an upstream service
// or Cloud Run would.
const (
	upstreamTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	upstreamSpanID  = "00f067aa0ba902b7"
	upstreamHeader  = "00-" + upstreamTraceID + "-" + upstreamSpanID + "-01"
)

func hexID(b []byte) string { return hex.EncodeToString(b) }
