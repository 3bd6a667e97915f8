// Package otelexample shows the sessions middleware reporting to the
// OpenTelemetry SDK: the spans of a request's store calls under the
// request's own span (otelhttp's), and the sessions' metrics. The library
// uses the OpenTelemetry API only; the application installs the SDK, as
// here, or as the greeter does with its exporters (cmd/greeter).
package otelexample
