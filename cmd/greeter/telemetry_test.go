package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/cmd/greeter/internal/greetertest"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// With OTEL_*_EXPORTER=otlp, a request that comes with a traceparent is a
// server span of that trace, its session's store call a child of it, and
// both reach the OTLP endpoint, as do the sessions' metrics.
func TestTelemetryOTLP(t *testing.T) {
	rcv := newOTLPReceiver(t)
	exportOTLPTo(t, rcv)
	flush := setupTestTelemetry(t, slog.New(slog.DiscardHandler))
	h, _, err := newHandler(sessions.NewMemoryStore(), false, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("traceparent", upstreamHeader)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	flush() // shuts the providers down, which exports everything left

	spans := rcv.Spans()
	var server, create *tracepb.Span
	for _, s := range spans {
		switch {
		case s.Kind == tracepb.Span_SPAN_KIND_SERVER:
			server = s
		case s.Name == "sessions.create":
			create = s
		}
	}
	if server == nil || create == nil {
		t.Fatalf("want a server span and a sessions.create span, got %s", spanNames(spans))
	}
	if got := hexID(server.TraceId); got != upstreamTraceID {
		t.Errorf("server span in trace %s, want the traceparent's %s", got, upstreamTraceID)
	}
	if got := hexID(server.ParentSpanId); got != upstreamSpanID {
		t.Errorf("server span's parent %s, want the traceparent's span %s", got, upstreamSpanID)
	}
	if server.Name != "GET /{$}" {
		t.Errorf("server span named %q, want its route, GET /{$}", server.Name)
	}
	if hexID(create.TraceId) != upstreamTraceID || hexID(create.ParentSpanId) != hexID(server.SpanId) {
		t.Errorf("sessions.create in trace %x under %x, want under the server span %x of trace %s",
			create.TraceId, create.ParentSpanId, server.SpanId, upstreamTraceID)
	}

	metrics := rcv.Metrics()
	for _, name := range []string{"sessions.views", "sessions.created", "sessions.store.duration"} {
		if len(metrics[name]) == 0 {
			names := make([]string, 0, len(metrics))
			for n := range metrics {
				names = append(names, n)
			}
			t.Errorf("metric %s not received; got %q", name, names)
		}
	}
	if m := metrics["sessions.views"]; len(m) > 0 {
		if sum := m[0].GetSum(); sum == nil || len(sum.DataPoints) != 1 || sum.DataPoints[0].GetAsInt() != 1 {
			t.Errorf("sessions.views: %v, want one point of 1", m[0])
		}
	}
}

func spanNames(spans []*tracepb.Span) string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name+" ("+s.Kind.String()+")")
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// Unset or none, the variables install no provider: nothing is exported.
func TestTelemetryNone(t *testing.T) {
	for _, v := range []string{"", "none"} {
		t.Run("exporter="+v, func(t *testing.T) {
			t.Setenv("OTEL_TRACES_EXPORTER", v)
			t.Setenv("OTEL_METRICS_EXPORTER", v)
			setupTestTelemetry(t, slog.New(slog.DiscardHandler))
			if tp, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
				t.Errorf("tracer provider %v installed", tp)
			}
			if mp, ok := otel.GetMeterProvider().(*sdkmetric.MeterProvider); ok {
				t.Errorf("meter provider %v installed", mp)
			}
		})
	}
}

func TestTelemetryExporterUnknown(t *testing.T) {
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, "carrier-pigeon")
			if _, err := setupTelemetry(t.Context(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=carrier-pigeon: error %v, want one that names %s", k, err, k)
			}
		})
	}
}

// The greeter with OTEL_*_EXPORTER=console writes the spans of a traced
// request and the sessions' metrics to stdout, flushed at shutdown.
func TestTelemetryToConsole(t *testing.T) {
	bin := greetertest.Build(t)
	p := greetertest.Start(t, bin, "OTEL_TRACES_EXPORTER=console", "OTEL_METRICS_EXPORTER=console")
	req, err := http.NewRequest(http.MethodGet, p.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", upstreamHeader)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := p.Stop(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	out := p.Output()
	for _, want := range []string{`"Name":"sessions.create"`, `"Name":"GET /{$}"`, `"TraceID":"` + upstreamTraceID + `"`,
		`"Name":"sessions.views"`, `"Name":"sessions.store.duration"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%.3000s", want, out)
		}
	}
}
