package main

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/firestore-sessions/sessions/bench/internal/load"
)

const sampleMicro = `goos: linux
BenchmarkSession/visitor=returning/lib=bare-2   	  215900	      5000 ns/op	    6104 B/op	      18 allocs/op
BenchmarkSession/visitor=returning/lib=bare-2   	  215900	      4000 ns/op	    6104 B/op	      18 allocs/op
BenchmarkSession/visitor=returning/lib=ours-2   	   28071	      9000 ns/op	    9416 B/op	      40 allocs/op
BenchmarkSession/visitor=returning/lib=ours-2   	   28071	      7000 ns/op	    9416 B/op	      40 allocs/op
BenchmarkSession/visitor=returning/lib=scs-2    	   26775	     34500 ns/op	   17712 B/op	     238 allocs/op
BenchmarkSession/visitor=returning/lib=scs-2    	   26775	     34500 ns/op	   17712 B/op	     238 allocs/op
PASS
`

func TestTargetLines(t *testing.T) {
	m, err := parseMicro([]byte(sampleMicro))
	if err != nil {
		t.Fatal(err)
	}
	oh, ok := m.overhead("returning", "ours")
	if !ok || oh.ns != 3500 || oh.allocs != 22 {
		t.Fatalf("overhead %+v, %v", oh, ok)
	}
	d := &data{Micro: m, Summaries: []*load.Summary{
		{Scenario: "seq", Target: load.Greeter, RPCsPerView: 1, RPCs: map[string]float64{"Commit": 1}},
		{Scenario: "miss", Target: load.Greeter, RPCsPerView: 2, OK: 10},
		{Scenario: "spread", Target: load.Greeter, ReqPerSec: 1700, RPCsPerView: 1},
		{Scenario: "spread", Target: load.Tutorial, ReqPerSec: 1000, RPCsPerView: 3},
		{Scenario: "hot2", Target: load.Greeter, ReqPerSec: 1300, Duplicates: 1},
		{RTTms: 10, Scenario: "spread", Target: load.Greeter, ReqPerSec: 800, P50ms: 16},
		{RTTms: 10, Scenario: "spread", Target: load.Tutorial, ReqPerSec: 300, P50ms: 40},
	}}
	got := strings.Join(targetLines(d), "\n")
	for _, want := range []string{
		"overhead ratio ours/scs (returning): ns 0.12, allocs 0.10 — target ≤ 0.20: met",
		"Firestore RPCs per returning view on a warm instance, greeter, sequential: 1.00 (Commit 1.00) — target 1.0: met",
		"on a miss (a session's first view on another greeter process): 2.00 (none) — target ≤ 2: met",
		"10 ms round trips, spread: req/s ratio greeter/tutorial 2.67 (800 vs 300 req/s) — target ≥ 2.5: met",
		"greeter p50 16.0 ms = 1.60 round trips (tutorial 40.0 ms) — target ≤ 1.5: NOT met",
		"emulator only, spread: req/s ratio greeter/tutorial 1.70 (1700 vs 1000 req/s) — target ≥ 1.6: met",
		"two greeter processes, emulator only: 1300 req/s (non-200 0, errors 0, lost 0, duplicate counts 1) — target ≥ 1000 req/s, 0 non-200, 0 lost, distinct counts: NOT met",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("target lines lack %q:\n%s", want, got)
		}
	}
}

func TestChartIsXML(t *testing.T) {
	sums := []*load.Summary{
		{Scenario: "seq", Target: load.Greeter, ReqPerSec: 500, P99ms: 7},
		{Scenario: "seq", Target: load.Tutorial, ReqPerSec: 400, P99ms: 8},
		{Scenario: "hot", Target: load.Tutorial, ReqPerSec: 2.5, P99ms: 6000},
	}
	svg := chartSVG(sums, load.Scenarios, []string{load.Greeter, load.Tutorial})
	wellFormed(t, svg)
	if n := strings.Count(svg, "<rect "); n != 2*3+2+1 { // bars of both panels, legend, background
		t.Errorf("%d rects", n)
	}
}

func TestFleetChartIsXML(t *testing.T) {
	var sums []*load.FleetSummary
	for n := 1; n <= 3; n++ {
		sums = append(sums,
			&load.FleetSummary{RTTms: 10, Target: load.Greeter, Instances: n, P50ms: 15 * float64(n), P99ms: 70},
			&load.FleetSummary{RTTms: 10, Target: load.Tutorial, Instances: n, P50ms: 38, P99ms: 50},
			&load.FleetSummary{RTTms: 0, Target: load.Greeter, Instances: n, P50ms: 3, P99ms: 9})
	}
	svg := fleetChartSVG(sums, rtt10)
	wellFormed(t, svg)
	if n := strings.Count(svg, "<rect "); n != 2*3*2+2+1 { // bars of both panels (10 ms runs only), legend, background
		t.Errorf("%d rects", n)
	}
	if !strings.Contains(svg, ">4.50<") { // the greeter's p50 at 3 instances: 45 ms = 4.5 round trips
		t.Errorf("chart lacks the greeter's p50 at 3 instances in round trips:\n%s", svg)
	}
}

func TestCostOfAMillionViews(t *testing.T) {
	c := shapeOf(&load.FleetSummary{Target: load.Greeter, Instances: 3, Views: 2000,
		Docs: load.DocOps{Reads: 1000, Writes: 2000}, Sessions: 16, CreateDocs: load.DocOps{Writes: 16}})
	if c.view != (load.DocOps{Reads: 500, Writes: 1000}) || c.session != (load.DocOps{Writes: 1000, Deletes: 1000}) {
		t.Fatalf("shape %+v", c)
	}
	// Sessions of 10 views: 100,000 created and deleted, 900,000 returning views.
	r, w, d := c.perMillion(10)
	if r != 450000 || w != 1000000 || d != 100000 {
		t.Errorf("a million views: %v reads, %v writes, %v deletes", r, w, d)
	}
	if got := thousands(1234567.4); got != "1,234,567" {
		t.Errorf("thousands: %s", got)
	}
}

// wellFormed fails t unless svg is well-formed XML.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
	}
}
