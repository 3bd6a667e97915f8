package sessions

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recorder is an OpenTelemetry SDK set up to be read by a test.
type recorder struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	cfg    Config // TracerProvider and MeterProvider of the recorder
}

func newRecorder() *recorder {
	r := &recorder{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.cfg.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
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

// sum returns the sum of metric name's data points (counters), or their
// count (histograms), over those having every attribute of attrs.
func (r *recorder) sum(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	has := func(set attribute.Set) bool {
		for _, a := range attrs {
			if v, ok := set.Value(a.Key); !ok || v != a.Value {
				return false
			}
		}
		return true
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if has(p.Attributes) {
						n += p.Value
					}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					if has(p.Attributes) {
						n += int64(p.Count)
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if has(p.Attributes) {
						n += int64(p.Count)
					}
				}
			}
		}
	}
	return n
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
