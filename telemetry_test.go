package sessions

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// spanNames returns the names of the ended spans, in order.
func (r *recorder) spanNames() []string {
	var names []string
	for _, s := range r.spans.Ended() {
		names = append(names, s.Name())
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
	eachStore(t, func(t *testing.T, st Store) {
		rec := newRecorder()
		v := &visitor{t: t, h: newManager(t, st, rec.cfg).Middleware(colorPage)}
		v.get("/")
		v.get("/set?color=red")
		v.get("/")
		want := []string{"sessions.create", "sessions.visit", "sessions.update", "sessions.visit"}
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
			{"sessions.store.duration", []attribute.KeyValue{attribute.String("sessions.op", "visit"), attribute.String("rpc.grpc.status_code", "OK")}, 2},
			{"sessions.store.duration", []attribute.KeyValue{attribute.String("sessions.op", "update")}, 1},
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
	})
}

func TestTelemetryOfConflicts(t *testing.T) {
	rec := newRecorder()
	stA, project := firestoreStore(t, FirestoreConfig{})
	stB := openStore(t, project, FirestoreConfig{})
	a := newManager(t, stA, Config{}).Middleware(greet)
	b := newManager(t, stB, rec.cfg).Middleware(greet)
	v := &visitor{t: t, h: b}
	v.get("/") // cached by b
	v.h = a
	v.get("/") // b's version is stale now
	v.h = b
	v.get("/")
	if got := rec.sum(t, "sessions.conflicts", attribute.String("sessions.then", "increment")); got != 1 {
		t.Errorf("conflicts then increment = %d, want 1", got)
	}
	if got := rec.sum(t, "sessions.cache.lookups", attribute.Bool("hit", true)); got != 1 {
		t.Errorf("cache hits = %d, want 1", got)
	}
}

// unavailableStore fails every visit as an unreachable Firestore does.
type unavailableStore struct{ *MemoryStore }

func (unavailableStore) Visit(context.Context, string, int64, time.Time, time.Duration) (Record, error) {
	return Record{}, status.Error(codes.Unavailable, "connection refused")
}

func TestTelemetryOfStoreErrors(t *testing.T) {
	rec := newRecorder()
	st := unavailableStore{NewMemoryStore()}
	h := newManager(t, st, rec.cfg).Middleware(greet)
	if res := do(t, h, http.MethodGet, "/", DefaultCookieName+"="+newID()); res.code != http.StatusServiceUnavailable {
		t.Fatalf("%d, want 503", res.code)
	}
	if got := rec.sum(t, "sessions.store.errors", attribute.String("sessions.op", "visit"), attribute.String("rpc.grpc.status_code", "Unavailable")); got != 1 {
		t.Errorf("store errors {visit, Unavailable} = %d, want 1", got)
	}
	spans := rec.spans.Ended()
	if len(spans) != 1 || spans[0].Status().Description != "Unavailable" {
		t.Errorf("spans %v, want one visit span with an error status", rec.spanNames())
	}
}
