package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// setupTelemetry installs the global OpenTelemetry propagators, and the
// tracer and meter providers that the sessions middleware and the greeter's
// server spans report to, with the exporters that OpenTelemetry's standard
// variables name (through go.opentelemetry.io/contrib/exporters/autoexport):
//
//   - OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER: otlp, console (stdout),
//     none, or prometheus for metrics. Unset, the greeter exports nothing,
//     where autoexport would send OTLP to localhost.
//   - OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf
//     or grpc), OTEL_EXPORTER_OTLP_HEADERS and the per-signal variants: where
//     and how OTLP goes.
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
//     OTEL_METRIC_EXPORT_INTERVAL, OTEL_BSP_*: read by the SDK itself.
//
// They are read from the process environment. Errors of the exporters go to
// logger. The shutdown function flushes what is left.
func setupTelemetry(ctx context.Context, logger *slog.Logger) (shutdown func(context.Context) error, err error) {
	// Propagators: W3C Trace Context and Baggage. Each request continues the
	// trace of its traceparent header, which Cloud Run sets on every request
	// (as Google Cloud's services set the legacy X-Cloud-Trace-Context too).
	// Google's propagator for X-Cloud-Trace-Context
	// (github.com/GoogleCloudPlatform/opentelemetry-operations-go/propagator)
	// builds with this OpenTelemetry, but is deprecated and to be archived,
	// its module says, in favour of the W3C one: the greeter does not use it.
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "err", err)
	}))

	var shutdowns []func(context.Context) error
	shutdown = func(ctx context.Context) error {
		var errs []error
		for _, f := range shutdowns {
			errs = append(errs, f(ctx))
		}
		return errors.Join(errs...)
	}
	// An unset variable means none: nil from the fallbacks.
	spans, err := autoexport.NewSpanExporter(ctx, autoexport.WithFallbackSpanExporter(
		func(context.Context) (sdktrace.SpanExporter, error) { return nil, nil }))
	if err != nil {
		return nil, fmt.Errorf("traces exporter (OTEL_TRACES_EXPORTER): %w", err)
	}
	if spans != nil && !autoexport.IsNoneSpanExporter(spans) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
		otel.SetTracerProvider(tp)
		shutdowns = append(shutdowns, tp.Shutdown)
	}
	reader, err := autoexport.NewMetricReader(ctx, autoexport.WithFallbackMetricReader(
		func(context.Context) (sdkmetric.Reader, error) { return nil, nil }))
	if err != nil {
		err = fmt.Errorf("metrics exporter (OTEL_METRICS_EXPORTER): %w", err)
		return nil, errors.Join(err, shutdown(ctx))
	}
	if reader != nil && !autoexport.IsNoneMetricReader(reader) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		otel.SetMeterProvider(mp)
		shutdowns = append(shutdowns, mp.Shutdown)
	}
	return shutdown, nil
}
