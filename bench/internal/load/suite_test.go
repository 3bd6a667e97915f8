package load

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// TestQuickSuite runs every scenario once for a second against both apps,
// built and run as binaries, and checks correctness only: every
// acknowledged view stored once with a count of its own, and no failed
// request for the greeter. The in-process run (CI runs it) goes through a
// delay proxy of 10 ms round trips. It needs the Firestore emulator (gcloud
// and java); without it the test is skipped, except under CI=true.
func TestQuickSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the Firestore emulator for about 20 s")
	}
	for _, mode := range []Mode{Binaries, InProcess} {
		t.Run(string(mode), func(t *testing.T) {
			if mode == InProcess && os.Getenv("CI") != "true" {
				t.Skip("the binary run covers the runner; CI runs both")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var rtt time.Duration
			if mode == InProcess {
				rtt = 10 * time.Millisecond
			}
			suite, err := RunSuite(ctx, Config{
				Mode:      mode,
				Scenarios: Scenarios,
				Rounds:    1,
				Run:       RunOptions{Duration: time.Second, MaxRequests: 5000},
				RTT:       rtt,
				Log:       testWriter{t},
			})
			if errors.Is(err, emulator.ErrUnavailable) && os.Getenv("CI") != "true" {
				t.Skipf("no emulator: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range Summarize(suite.Results) {
				if s.OK == 0 || !s.Correct() {
					t.Errorf("%s %s: ok %d, lost %d, duplicates %d, out of range %d", s.Scenario, s.Target, s.OK, s.Lost, s.Duplicates, s.OutOfRange)
				}
				if s.Target == Greeter && (s.Non200 > 0 || s.Errors > 0) {
					t.Errorf("%s greeter: %d non-200 answers, %d errors", s.Scenario, s.Non200, s.Errors)
				}
				// One client, no contention: RunTransaction is
				// BeginTransaction, BatchGetDocuments, Commit. This checks
				// the counting, not a target.
				if s.Target == Tutorial && s.Scenario == "seq" && s.RPCsPerView != 3 {
					t.Errorf("seq tutorial: %.2f RPCs per view counted, want 3 (%v)", s.RPCsPerView, s.RPCs)
				}
				// The greeter's first view of a session it has not seen:
				// a read, then the conditional Commit.
				if s.Scenario == "miss" && s.RPCsPerView != 2 {
					t.Errorf("miss: %.2f RPCs per view counted, want 2 (%v)", s.RPCsPerView, s.RPCs)
				}
				if s.RTTms != float64(rtt.Milliseconds()) {
					t.Errorf("%s %s: measured at %v ms round trips, want %v", s.Scenario, s.Target, s.RTTms, rtt)
				}
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(d, c.q); got != c.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
}

func TestSummarize(t *testing.T) {
	rs := []*Result{
		{Target: Greeter, Scenario: "spread", OK: 100, ReqPerSec: 10, RPCs: map[string]int64{"Commit": 100, "BatchGetDocuments": 100}, AppCPUms: 20},
		{Target: Tutorial, Scenario: "spread", OK: 50, ReqPerSec: 5, Lost: 1, RPCs: map[string]int64{"Commit": 50}},
		{Target: Greeter, Scenario: "spread", OK: 300, ReqPerSec: 30, RPCs: map[string]int64{"Commit": 300, "BatchGetDocuments": 300}, AppCPUms: 60},
		{Target: Greeter, Scenario: "spread", OK: 200, ReqPerSec: 20, RPCs: map[string]int64{"Commit": 200, "BatchGetDocuments": 200}},
	}
	sums := Summarize(rs)
	if len(sums) != 2 {
		t.Fatalf("%d summaries, want 2", len(sums))
	}
	g := Find(sums, "spread", Greeter)
	if g.Runs != 3 || g.OK != 600 || g.ReqPerSec != 20 || g.ReqPerSecMin != 10 || g.ReqPerSecMax != 30 {
		t.Errorf("greeter summary %+v", g)
	}
	if g.RPCsPerView != 2 || g.RPCs["Commit"] != 1 || g.AppCPUPerViewUs != 80.0*1000/600 {
		t.Errorf("greeter RPCs %.2f %v, CPU %.1f", g.RPCsPerView, g.RPCs, g.AppCPUPerViewUs)
	}
	if tu := Find(sums, "spread", Tutorial); tu.Correct() {
		t.Errorf("tutorial with a lost view reported correct")
	}
}
