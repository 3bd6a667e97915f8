package sessions

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope names this package's tracer and meter.
const scope = "github.com/firestore-sessions/sessions"

// telemetry is what a Manager reports through OpenTelemetry: a span per
// store call of a traced request, and these metrics. It uses only the
// OpenTelemetry API: with no providers installed, everything is a no-op.
//
//   - sessions.views (counter): views counted.
//   - sessions.created (counter): sessions created.
//   - sessions.visit.batch (histogram): views counted by one store call,
//     more than one when concurrent requests of a session were coalesced.
//   - sessions.store.duration (histogram, seconds) and sessions.store.errors
//     (counter), by operation (sessions.op: visit, read, create, save,
//     slide, change, rename, destroy, owner, resolve) and, for failures, the
//     error (error.type: unavailable, not_found, conflict, exists,
//     inactive, canceled, error).
//
// The Firestore store reports two more, through its own MeterProvider
// (FirestoreConfig.MeterProvider):
//
//   - sessions.cache.lookups (counter), by hit (true or false): the
//     Firestore store's record cache; the hit ratio is hits over lookups.
//   - sessions.conflicts (counter), by what followed (sessions.then:
//     "read"): the Firestore store's cached records found out of date
//     because another instance changed the record first.
type telemetry struct {
	tracer        trace.Tracer
	views         metric.Int64Counter
	created       metric.Int64Counter
	batch         metric.Int64Histogram
	storeDuration metric.Float64Histogram
	storeErrors   metric.Int64Counter
	// ops holds, by operation, its span name and the attributes of a call
	// that succeeded, made once: a request costs no allocation for them.
	ops map[string]opTelemetry
}

type opTelemetry struct {
	span string
	ok   []metric.RecordOption // one option, kept in a slice so that passing it allocates nothing
}

// ops are the operations that telemetry reports.
var ops = []string{"visit", "read", "create", "save", "slide", "change", "rename", "destroy", "owner", "resolve"}

// newTelemetry returns the instruments of tp and mp, the global providers
// where they are nil.
func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) (*telemetry, error) {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	t := &telemetry{tracer: tp.Tracer(scope), ops: map[string]opTelemetry{}}
	var errs [5]error
	t.views, errs[0] = m.Int64Counter("sessions.views", metric.WithUnit("{view}"), metric.WithDescription("Views counted."))
	t.created, errs[1] = m.Int64Counter("sessions.created", metric.WithUnit("{session}"), metric.WithDescription("Sessions created."))
	t.batch, errs[2] = m.Int64Histogram("sessions.visit.batch", metric.WithUnit("{view}"), metric.WithDescription("Views counted by one store call."),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128))
	t.storeDuration, errs[3] = m.Float64Histogram("sessions.store.duration", metric.WithUnit("s"), metric.WithDescription("Duration of store calls of sessions."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	t.storeErrors, errs[4] = m.Int64Counter("sessions.store.errors", metric.WithUnit("{error}"), metric.WithDescription("Failed store calls of sessions."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	for _, op := range ops {
		t.ops[op] = opTelemetry{span: "sessions." + op, ok: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("sessions.op", op)))}}
	}
	return t, nil
}

// storeCall is one store call under way.
type storeCall struct {
	t     *telemetry
	op    string
	start time.Time
	span  trace.Span // nil: the request is not traced
}

// begin starts a store call of operation op and returns the context to
// make it with. Its span is a child of the request's: when the request is
// not traced (no recording span in ctx, as otelhttp or a traced server puts
// there), there is none, and the call costs no allocation.
func (t *telemetry) begin(ctx context.Context, op string) (context.Context, storeCall) {
	c := storeCall{t: t, op: op, start: time.Now()}
	if trace.SpanFromContext(ctx).IsRecording() {
		ctx, c.span = t.tracer.Start(ctx, t.ops[op].span)
		c.span.SetAttributes(attribute.String("sessions.op", op))
	}
	return ctx, c
}

// end records the call's duration and outcome, and ends its span.
func (c storeCall) end(ctx context.Context, err error) {
	class := errorClass(err)
	if errors.Is(err, ErrNotFound) && (c.op == "visit" || c.op == "read") {
		class = "ok" // an unknown or ended session: the visitor gets a new one
	}
	d := time.Since(c.start).Seconds()
	if class == "ok" {
		c.t.storeDuration.Record(ctx, d, c.t.ops[c.op].ok...)
	} else {
		attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("sessions.op", c.op), attribute.String("error.type", class)))
		c.t.storeDuration.Record(ctx, d, attrs)
		c.t.storeErrors.Add(ctx, 1, attrs)
	}
	if c.span == nil {
		return
	}
	if class != "ok" {
		c.span.RecordError(err)
		c.span.SetStatus(otelcodes.Error, class)
	}
	c.span.End()
}
