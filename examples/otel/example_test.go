package otelexample_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/firestore-sessions/sessions"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Spans and metrics go to the providers the application installs: here the
// SDK's, read in memory; in production, exporters to a Collector or to
// Cloud Trace and Cloud Monitoring. Each store call of a request is a span
// under the request's span; without providers they cost nothing.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	m, err := sessions.New(sessions.NewMemoryStore(), sessions.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := sessions.FromContext(r.Context())
		fmt.Fprintf(w, "view %d", s.Views())
	})
	// otelhttp outside the middleware: the request's span is the parent of
	// the session's.
	h := otelhttp.NewHandler(m.Middleware(page), "page", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp))

	var cookie *http.Cookie
	for range 2 {
		r := httptest.NewRequest("GET", "/", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
	}

	servers := map[trace.SpanID]bool{}
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			servers[s.SpanContext().SpanID()] = true
		}
	}
	for _, s := range spans.Ended() {
		if s.SpanKind() != trace.SpanKindServer {
			fmt.Printf("span %s, child of the request's: %v\n", s.Name(), servers[s.Parent().SpanID()])
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			if sum, ok := metric.Data.(metricdata.Sum[int64]); ok && (metric.Name == "sessions.views" || metric.Name == "sessions.created") {
				fmt.Println("metric", metric.Name, sum.DataPoints[0].Value)
			}
		}
	}
	// Unordered output:
	// span sessions.create, child of the request's: true
	// span sessions.visit, child of the request's: true
	// metric sessions.views 2
	// metric sessions.created 1
}
