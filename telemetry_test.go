package sessions

import (
	"context"
	"encoding/binary"
	"net/http"
	"slices"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricembedded "go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	traceembedded "go.opentelemetry.io/otel/trace/embedded"
)

// recorder is a tracer and a meter provider that keep what they are given,
// for tests to read. It implements the OpenTelemetry API alone, as any SDK
// does, so that the library's module needs no SDK.
type recorder struct {
	spans *spanRecorder
	meter *meterRecorder
	cfg   Config // TracerProvider and MeterProvider of the recorder
}

func newRecorder() *recorder {
	r := &recorder{spans: &spanRecorder{}, meter: &meterRecorder{}}
	r.cfg.TracerProvider = r.spans
	r.cfg.MeterProvider = r.meter
	return r
}

// traced returns h in a span per request, as otelhttp makes one.
func (r *recorder) traced(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, span := r.cfg.TracerProvider.Tracer("test").Start(req.Context(), "request")
		defer span.End()
		h.ServeHTTP(w, req.WithContext(ctx))
	})
}

// spanNames returns the names of the ended spans of the store calls, in
// order.
func (r *recorder) spanNames() []string {
	var names []string
	for _, s := range r.spans.Ended() {
		if s.Name() != "request" {
			names = append(names, s.Name())
		}
	}
	return names
}

// sum returns the sum of metric name's measurements (counters), or their
// count (histograms), over those having every attribute of attrs.
func (r *recorder) sum(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	has := func(set attribute.Set) bool {
		for _, a := range attrs {
			if v, ok := set.Value(a.Key); !ok || v != a.Value {
				return false
			}
		}
		return true
	}
	var n int64
	for _, m := range r.meter.measurements() {
		if m.name == name && has(m.attrs) {
			n += m.value
		}
	}
	return n
}

// checkParents checks that the span of each store call is a child of its
// request's span, in the same trace.
func (r *recorder) checkParents(t *testing.T) {
	t.Helper()
	ended := r.spans.Ended()
	byID := map[trace.SpanID]*recordedSpan{}
	for _, s := range ended {
		byID[s.SpanContext().SpanID()] = s
	}
	for _, s := range ended {
		if s.Name() == "request" {
			continue
		}
		p := byID[s.Parent().SpanID()]
		if p == nil || p.Name() != "request" || p.SpanContext().TraceID() != s.SpanContext().TraceID() {
			t.Errorf("span %s: parent %v, want a request's span of its trace", s.Name(), s.Parent())
		}
	}
}

// spanRecorder is a trace.TracerProvider that keeps its ended spans.
type spanRecorder struct {
	traceembedded.TracerProvider

	mu    sync.Mutex
	ids   uint64 // the last span id given
	ended []*recordedSpan
}

func (r *spanRecorder) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return recordingTracer{r: r}
}

type recordingTracer struct {
	traceembedded.Tracer
	r *spanRecorder
}

// Start starts a span in the trace of ctx's span, as its child, or in a new
// trace.
func (t recordingTracer) Start(ctx context.Context, name string, _ ...trace.SpanStartOption) (context.Context, trace.Span) {
	r := t.r
	parent := trace.SpanContextFromContext(ctx)
	r.mu.Lock()
	r.ids++
	id := r.ids
	r.mu.Unlock()
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], id)
	tid := parent.TraceID()
	if !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[8:], id)
	}
	s := &recordedSpan{r: r, name: name, parent: parent,
		sc: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})}
	return trace.ContextWithSpan(ctx, s), s
}

// Ended returns the spans ended so far, in the order they ended.
func (r *spanRecorder) Ended() []*recordedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ended)
}

// recordedSpan is a span of a spanRecorder. Its fields are guarded by the
// recorder's mutex.
type recordedSpan struct {
	traceembedded.Span
	r      *spanRecorder
	name   string
	sc     trace.SpanContext
	parent trace.SpanContext
	status spanStatus
}

// spanStatus is a span's status, as SetStatus set it.
type spanStatus struct {
	Code        otelcodes.Code
	Description string
}

func (s *recordedSpan) End(...trace.SpanEndOption) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.ended = append(s.r.ended, s)
}

func (s *recordedSpan) SetStatus(code otelcodes.Code, description string) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.status = spanStatus{code, description}
}

func (s *recordedSpan) SetName(name string) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.name = name
}

func (s *recordedSpan) Name() string {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.name
}

func (s *recordedSpan) Status() spanStatus {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.status
}

// Events, links and attributes are not kept: no test reads them.
func (s *recordedSpan) AddEvent(string, ...trace.EventOption)   {}
func (s *recordedSpan) RecordError(error, ...trace.EventOption) {}
func (s *recordedSpan) SetAttributes(...attribute.KeyValue)     {}
func (s *recordedSpan) AddLink(trace.Link)                      {}
func (s *recordedSpan) IsRecording() bool                       { return true }
func (s *recordedSpan) SpanContext() trace.SpanContext          { return s.sc }
func (s *recordedSpan) Parent() trace.SpanContext               { return s.parent }
func (s *recordedSpan) TracerProvider() trace.TracerProvider    { return s.r }

// meterRecorder is a metric.MeterProvider that keeps the measurements of
// its instruments.
type meterRecorder struct {
	metricembedded.MeterProvider

	mu   sync.Mutex
	kept []measurement
}

// measurement is one Add of a counter (its increment), or one Record of a
// histogram (1, to count them).
type measurement struct {
	name  string
	value int64
	attrs attribute.Set
}

func (r *meterRecorder) Meter(string, ...metric.MeterOption) metric.Meter {
	return recordingMeter{r: r}
}

// recordingMeter makes the instruments that the library uses; the others
// are no-ops.
type recordingMeter struct {
	noop.Meter
	r *meterRecorder
}

func (r *meterRecorder) keep(name string, value int64, attrs attribute.Set) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kept = append(r.kept, measurement{name, value, attrs})
}

func (r *meterRecorder) measurements() []measurement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.kept)
}

func (m recordingMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return recordedCounter{r: m.r, name: name}, nil
}

func (m recordingMeter) Int64Histogram(name string, _ ...metric.Int64HistogramOption) (metric.Int64Histogram, error) {
	return recordedInt64Histogram{r: m.r, name: name}, nil
}

func (m recordingMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return recordedFloat64Histogram{r: m.r, name: name}, nil
}

type recordedCounter struct {
	noop.Int64Counter
	r    *meterRecorder
	name string
}

func (c recordedCounter) Enabled(context.Context) bool { return true }

func (c recordedCounter) Add(_ context.Context, incr int64, opts ...metric.AddOption) {
	c.r.keep(c.name, incr, metric.NewAddConfig(opts).Attributes())
}

// recordedInt64Histogram and recordedFloat64Histogram count the values
// recorded.
type recordedInt64Histogram struct {
	noop.Int64Histogram
	r    *meterRecorder
	name string
}

func (h recordedInt64Histogram) Enabled(context.Context) bool { return true }

func (h recordedInt64Histogram) Record(_ context.Context, _ int64, opts ...metric.RecordOption) {
	h.r.keep(h.name, 1, metric.NewRecordConfig(opts).Attributes())
}

type recordedFloat64Histogram struct {
	noop.Float64Histogram
	r    *meterRecorder
	name string
}

func (h recordedFloat64Histogram) Enabled(context.Context) bool { return true }

func (h recordedFloat64Histogram) Record(_ context.Context, _ float64, opts ...metric.RecordOption) {
	h.r.keep(h.name, 1, metric.NewRecordConfig(opts).Attributes())
}

func TestTelemetryOfViews(t *testing.T) {
	for _, name := range []string{"memory", "firestore", "firestore-uncached"} {
		t.Run(name, func(t *testing.T) {
			rec := newRecorder()
			var st Store = NewMemoryStore()
			if name != "memory" {
				// The Firestore store reports its cache through its own
				// MeterProvider.
				cfg := FirestoreConfig{MeterProvider: rec.cfg.MeterProvider}
				if name == "firestore-uncached" {
					cfg.CacheSize = -1
				}
				st, _ = firestoreStore(t, cfg)
			}
			testTelemetryOfViews(t, rec, st)
		})
	}
}

func testTelemetryOfViews(t *testing.T, rec *recorder, st Store) {
	v := &visitor{t: t, h: rec.traced(newManager(t, st, rec.cfg).Middleware(colorPage))}
	v.get("/")
	v.get("/set?color=red")
	v.get("/")
	want := []string{"sessions.create", "sessions.visit", "sessions.save", "sessions.visit"}
	if got := rec.spanNames(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("spans %q, want %q", got, want)
	}
	rec.checkParents(t)
	for _, c := range []struct {
		name  string
		attrs []attribute.KeyValue
		want  int64
	}{
		{"sessions.views", nil, 3},
		{"sessions.created", nil, 1},
		{"sessions.visit.batch", nil, 2},
		{"sessions.store.duration", []attribute.KeyValue{attribute.String("sessions.op", "visit")}, 2},
		{"sessions.store.duration", []attribute.KeyValue{attribute.String("sessions.op", "save")}, 1},
		{"sessions.store.errors", nil, 0},
	} {
		if got := rec.sum(t, c.name, c.attrs...); got != c.want {
			t.Errorf("%s %v = %d, want %d", c.name, c.attrs, got, c.want)
		}
	}
	if f, ok := st.(*FirestoreStore); ok && f.cache != nil {
		if got := rec.sum(t, "sessions.cache.lookups", attribute.Bool("hit", true)); got != 2 {
			t.Errorf("cache hits = %d, want 2 (the store cached the session it created)", got)
		}
	}
}

func TestTelemetryOfConflicts(t *testing.T) {
	rec := newRecorder()
	stA, project := firestoreStore(t, FirestoreConfig{})
	stB := openStore(t, project, FirestoreConfig{MeterProvider: rec.cfg.MeterProvider})
	a := newManager(t, stA, Config{}).Middleware(colorPage)
	b := newManager(t, stB, rec.cfg).Middleware(colorPage)
	v := &visitor{t: t, h: b}
	v.get("/") // cached by b
	v.h = a
	v.get("/set?color=red") // b's record is out of date now
	v.h = b
	v.get("/")
	if got := rec.sum(t, "sessions.conflicts", attribute.String("sessions.then", "read")); got != 1 {
		t.Errorf("conflicts then read = %d, want 1", got)
	}
	if got := rec.sum(t, "sessions.cache.lookups", attribute.Bool("hit", true)); got != 1 {
		t.Errorf("cache hits = %d, want 1", got)
	}
}

func TestTelemetryOfStoreErrors(t *testing.T) {
	rec := newRecorder()
	st := &hookStore{Store: NewMemoryStore()}
	st.down.Store(true)
	h := rec.traced(newManager(t, st, rec.cfg).Middleware(greet))
	if res := do(t, h, http.MethodGet, "/", DefaultCookieName+"="+newID()); res.code != http.StatusServiceUnavailable {
		t.Fatalf("%d, want 503", res.code)
	}
	if got := rec.sum(t, "sessions.store.errors", attribute.String("sessions.op", "visit"), attribute.String("error.type", "unavailable")); got != 1 {
		t.Errorf("store errors {visit, unavailable} = %d, want 1", got)
	}
	spans := rec.spans.Ended()
	if len(spans) != 2 || spans[0].Name() != "sessions.visit" || spans[0].Status().Description != "unavailable" {
		t.Errorf("spans %v, want the visit's span, with an error status, in the request's", rec.spanNames())
	}
}

// An untraced request makes no span; its metrics are recorded all the same.
func TestTelemetryOfUntracedRequests(t *testing.T) {
	rec := newRecorder()
	m := newManager(t, NewMemoryStore(), rec.cfg)
	v := &visitor{t: t, h: m.Middleware(greet)}
	v.get("/")
	v.get("/")
	if names := rec.spanNames(); len(names) != 0 {
		t.Errorf("spans %q for untraced requests", names)
	}
	if got := rec.sum(t, "sessions.views"); got != 2 {
		t.Errorf("views = %d, want 2", got)
	}
}
