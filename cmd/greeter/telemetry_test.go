package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/firestore-sessions/sessions"
	"go.opentelemetry.io/otel"
)

func TestTelemetryToConsole(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console"}
	shutdown, err := setupTelemetry(func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(sessions.NewMemoryStore(), false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// A traced request, as behind otelhttp.
	ctx, span := otel.Tracer("test").Start(context.Background(), "request")
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Name":"sessions.create"`, `"Name":"sessions.views"`, `"Name":"sessions.store.duration"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console output lacks %s:\n%.2000s", want, out.String())
		}
	}
}

func TestTelemetryExporterUnknown(t *testing.T) {
	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"} {
		if _, err := setupTelemetry(func(v string) string {
			if v == k {
				return "otlp"
			}
			return ""
		}, new(bytes.Buffer)); err == nil {
			t.Errorf("%s=otlp accepted: the greeter has no such exporter", k)
		}
	}
}
