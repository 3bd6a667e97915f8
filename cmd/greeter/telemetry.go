package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// setupTelemetry installs OpenTelemetry providers as the global ones, which
// the sessions middleware reports to, when the environment asks for them
// with OpenTelemetry's own variables: OTEL_TRACES_EXPORTER=console writes
// spans to w, OTEL_METRICS_EXPORTER=console writes metrics to w (every
// minute, and at shutdown). Unset or "none" exports nothing. The shutdown
// function flushes what is left.
func setupTelemetry(getenv func(string) string, w io.Writer) (shutdown func(context.Context) error, err error) {
	var shutdowns []func(context.Context) error
	shutdown = func(ctx context.Context) error {
		var errs []error
		for _, f := range shutdowns {
			errs = append(errs, f(ctx))
		}
		return errors.Join(errs...)
	}
	switch v := getenv("OTEL_TRACES_EXPORTER"); v {
	case "", "none":
	case "console":
		exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
		otel.SetTracerProvider(tp)
		shutdowns = append(shutdowns, tp.Shutdown)
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: the greeter exports to console or none", v)
	}
	switch v := getenv("OTEL_METRICS_EXPORTER"); v {
	case "", "none":
	case "console":
		exp, err := stdoutmetric.New(stdoutmetric.WithWriter(w))
		if err != nil {
			return nil, err
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		otel.SetMeterProvider(mp)
		shutdowns = append(shutdowns, mp.Shutdown)
	default:
		return nil, fmt.Errorf("OTEL_METRICS_EXPORTER=%q: the greeter exports to console or none", v)
	}
	return shutdown, nil
}
