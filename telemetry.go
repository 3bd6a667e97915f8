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
	grpccodes "google.golang.org/grpc/codes"
)

// scope names this package's tracer and meter.
const scope = "github.com/firestore-sessions/sessions"

// telemetry is what a Manager reports through OpenTelemetry: a span per
// store call of a traced request, and these metrics. It uses only the OpenTelemetry API: with no
// providers installed, everything is a no-op.
//
//   - sessions.views (counter): views counted.
//   - sessions.created (counter): sessions created.
//   - sessions.visit.batch (histogram): views counted by one store visit,
//     more than one when concurrent requests of a session were coalesced.
//   - sessions.store.duration (histogram, seconds) and sessions.store.errors
//     (counter), by store operation (sessions.op) and gRPC code (rpc.grpc.status_code
//     as its name, "OK" for success).
//
// The Firestore store reports two more, through its own MeterProvider
// (FirestoreConfig.MeterProvider):
//
//   - sessions.cache.lookups (counter), by hit (true or false): the
//     Firestore store's record cache; the hit ratio is hits over lookups.
//   - sessions.conflicts (counter), by what followed (sessions.then:
//     "read" for a view): the Firestore store's cached records found out
//     of date because another instance changed the session first.
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

// ops are the store operations that telemetry reports.
var ops = []string{"create", "get", "visit", "apply", "rename", "delete"}

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
	t.batch, errs[2] = m.Int64Histogram("sessions.visit.batch", metric.WithUnit("{view}"), metric.WithDescription("Views counted by one store visit."),
		metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128))
	t.storeDuration, errs[3] = m.Float64Histogram("sessions.store.duration", metric.WithUnit("s"), metric.WithDescription("Duration of session store calls."),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	t.storeErrors, errs[4] = m.Int64Counter("sessions.store.errors", metric.WithUnit("{error}"), metric.WithDescription("Session store calls that failed."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	for _, op := range ops {
		t.ops[op] = opTelemetry{span: "sessions." + op, ok: []metric.RecordOption{metric.WithAttributeSet(callAttributes(op, 0))}}
	}
	return t, nil
}

func callAttributes(op string, c grpccodes.Code) attribute.Set {
	return attribute.NewSet(attribute.String("sessions.op", op), attribute.String("rpc.grpc.status_code", c.String()))
}

// call is one store call under way.
type call struct {
	t     *telemetry
	op    string
	start time.Time
	span  trace.Span // nil: the request is not traced
}

// begin starts a store call of operation op and returns the context to
// make it with. Its span is a child of the request's: when the request is
// not traced (no recording span in ctx, as otelhttp or a traced server puts
// there), there is none, and the call costs no allocation.
func (t *telemetry) begin(ctx context.Context, op string) (context.Context, call) {
	c := call{t: t, op: op, start: time.Now()}
	if trace.SpanFromContext(ctx).IsRecording() {
		ctx, c.span = t.tracer.Start(ctx, t.ops[op].span)
		c.span.SetAttributes(attribute.String("sessions.op", op))
	}
	return ctx, c
}

// end records the call's duration and outcome, and ends its span.
func (c call) end(ctx context.Context, err error) {
	code := code(err)
	if errors.Is(err, ErrNotFound) && c.op == "visit" {
		code = 0 // an unknown or expired session: the visitor gets a new one
	}
	d := time.Since(c.start).Seconds()
	if code == 0 {
		c.t.storeDuration.Record(ctx, d, c.t.ops[c.op].ok...)
	} else {
		attrs := metric.WithAttributeSet(callAttributes(c.op, code))
		c.t.storeDuration.Record(ctx, d, attrs)
		c.t.storeErrors.Add(ctx, 1, attrs)
	}
	if c.span == nil {
		return
	}
	if code != 0 {
		c.span.RecordError(err)
		c.span.SetStatus(otelcodes.Error, code.String())
	}
	c.span.End()
}

// storeTelemetry is what the Firestore store reports of its cache.
type storeTelemetry struct {
	cacheLookups metric.Int64Counter
	conflicts    metric.Int64Counter
}

// newStoreTelemetry returns the instruments of mp, the global provider
// when nil.
func newStoreTelemetry(mp metric.MeterProvider) (*storeTelemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(scope)
	t := &storeTelemetry{}
	var errs [2]error
	t.cacheLookups, errs[0] = m.Int64Counter("sessions.cache.lookups", metric.WithUnit("{lookup}"), metric.WithDescription("Lookups in the Firestore store's record cache."))
	t.conflicts, errs[1] = m.Int64Counter("sessions.conflicts", metric.WithUnit("{conflict}"), metric.WithDescription("Cached records found out of date because another instance changed the session."))
	return t, errors.Join(errs[:]...)
}

// conflict notes a cached record found out of date, and what follows.
func (t *storeTelemetry) conflict(ctx context.Context, then string) {
	if t == nil {
		return
	}
	t.conflicts.Add(ctx, 1, metric.WithAttributes(attribute.String("sessions.then", then)))
	trace.SpanFromContext(ctx).AddEvent("conflict", trace.WithAttributes(attribute.String("sessions.then", then)))
}

// cacheLookup notes a lookup in a record cache.
func (t *storeTelemetry) cacheLookup(ctx context.Context, hit bool) {
	if t == nil {
		return
	}
	t.cacheLookups.Add(ctx, 1, metric.WithAttributes(attribute.Bool("hit", hit)))
	trace.SpanFromContext(ctx).SetAttributes(attribute.Bool("sessions.cache.hit", hit))
}

// instrumented is a Store whose calls report to telemetry.
type instrumented struct {
	Store
	t *telemetry
}

// instrument returns st reporting to t.
func instrument(st Store, t *telemetry) Store {
	return instrumented{st, t}
}

func (s instrumented) Create(ctx context.Context, id string, rec Record) error {
	ctx, c := s.t.begin(ctx, "create")
	err := s.Store.Create(ctx, id, rec)
	if err == nil {
		s.t.created.Add(ctx, 1)
		s.t.views.Add(ctx, rec.Views)
	}
	c.end(ctx, err)
	return err
}

func (s instrumented) Get(ctx context.Context, id string) (Record, error) {
	ctx, c := s.t.begin(ctx, "get")
	rec, err := s.Store.Get(ctx, id)
	c.end(ctx, err)
	return rec, err
}

func (s instrumented) Visit(ctx context.Context, id string, views int64) (Record, error) {
	ctx, c := s.t.begin(ctx, "visit")
	if c.span != nil {
		c.span.SetAttributes(attribute.Int64("sessions.batch", views))
	}
	s.t.batch.Record(ctx, views)
	rec, err := s.Store.Visit(ctx, id, views)
	if err == nil {
		s.t.views.Add(ctx, views)
	}
	c.end(ctx, err)
	return rec, err
}

func (s instrumented) Apply(ctx context.Context, id string, ch Change) (Applied, error) {
	ctx, c := s.t.begin(ctx, "apply")
	if c.span != nil {
		c.span.SetAttributes(attribute.Int("sessions.set", len(ch.Set)), attribute.Int("sessions.deleted", len(ch.Delete)),
			attribute.Bool("sessions.conditional", ch.IfVersion != ""))
	}
	res, err := s.Store.Apply(ctx, id, ch)
	c.end(ctx, err)
	return res, err
}

func (s instrumented) Rename(ctx context.Context, oldID, newID string, rec Record) error {
	ctx, c := s.t.begin(ctx, "rename")
	err := s.Store.Rename(ctx, oldID, newID, rec)
	c.end(ctx, err)
	return err
}

func (s instrumented) Delete(ctx context.Context, id string) error {
	ctx, c := s.t.begin(ctx, "delete")
	err := s.Store.Delete(ctx, id)
	c.end(ctx, err)
	return err
}
