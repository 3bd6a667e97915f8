package main

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/firestore-sessions/sessions/bench/internal/load"
)

// fleetChartSVG draws two panels of grouped bars, p50 and p99 latency
// against the number of instances, one bar per app, in round trips of the
// runs at rtt (in ms from the bare runs when there are none at rtt), on
// linear axes, with each bar's value written above it.
func fleetChartSVG(sums []*load.FleetSummary, rtt time.Duration) string {
	var chosen []*load.FleetSummary
	for _, s := range sums {
		if s.RTTms == ms(rtt) {
			chosen = append(chosen, s)
		}
	}
	unit, scale := "round trips", func(s *load.FleetSummary, v float64) float64 { return s.RTTs(v) }
	if len(chosen) == 0 {
		chosen = sums
		unit, scale = "ms", func(_ *load.FleetSummary, v float64) float64 { return v }
	}
	var sizes []int
	for _, s := range chosen {
		if !slices.Contains(sizes, s.Instances) {
			sizes = append(sizes, s.Instances)
		}
	}
	slices.Sort(sizes)
	targets := []string{load.Greeter, load.Tutorial}
	find := func(target string, n int) *load.FleetSummary {
		for _, s := range chosen {
			if s.Target == target && s.Instances == n {
				return s
			}
		}
		return nil
	}

	const (
		panelW, panelH = 380.0, 260.0
		left, top      = 50.0, 52.0
		gap            = 70.0
		bottom         = 48.0
	)
	colors := []string{"#1f77b4", "#ff7f0e"}
	width := left + 2*panelW + gap + 20
	height := top + panelH + bottom + 28
	var b strings.Builder
	svgStart(&b, width, height)
	panels := []struct {
		title string
		value func(*load.FleetSummary) float64
	}{
		{"p50 latency, " + unit + " (lower is better)", func(s *load.FleetSummary) float64 { return scale(s, s.P50ms) }},
		{"p99 latency, " + unit + " (lower is better)", func(s *load.FleetSummary) float64 { return scale(s, s.P99ms) }},
	}
	for pi, p := range panels {
		x0 := left + float64(pi)*(panelW+gap)
		y0 := top
		hi := 0.0
		for _, s := range chosen {
			hi = math.Max(hi, p.value(s))
		}
		step := niceStep(hi / 5)
		top := step * math.Ceil(hi*1.1/step)
		if top <= 0 {
			top, step = 1, 0.2
		}
		y := func(v float64) float64 { return y0 + panelH - math.Max(0, math.Min(1, v/top))*panelH }
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="14" font-weight="bold">%s</text>`+"\n", x0, y0-24, p.title)
		for v := 0.0; v <= top+step/2; v += step {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y(v), x0+panelW, y(v))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", x0-6, y(v)+4, num(v))
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", x0, y0+panelH, x0+panelW, y0+panelH)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", x0, y0, x0, y0+panelH)
		groupW := panelW / float64(max(len(sizes), 1))
		barW := groupW * 0.7 / float64(len(targets))
		for gi, n := range sizes {
			gx := x0 + float64(gi)*groupW + groupW*0.15
			for ti, t := range targets {
				s := find(t, n)
				if s == nil {
					continue
				}
				v := p.value(s)
				bx, by := gx+float64(ti)*barW, y(v)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %d instances: %s %s</title></rect>`+"\n",
					bx+1, by, barW-2, y0+panelH-by, colors[ti], t, n, num(v), unit)
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s</text>`+"\n", bx+barW/2, by-3, num(v))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x0+float64(gi)*groupW+groupW/2, y0+panelH+16, n)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">instances of each app, 16 visitors, each request to a random instance</text>`+"\n", x0+panelW/2, y0+panelH+34)
	}
	lx, ly := left, top+panelH+bottom
	for ti, t := range targets {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`+"\n", lx, ly, colors[ti])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+16, ly+10, legend(t))
		lx += 16 + 8*float64(len(legend(t))) + 24
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceStep returns 1, 2 or 5 times a power of ten, at least v.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// List prices of Firestore Standard edition, us-central1, in dollars per
// 100,000 document operations: an assumption, checked 2026-12 (see
// writeCost for the sources).
const (
	priceRead   = 0.03
	priceWrite  = 0.09
	priceDelete = 0.01
)

// A costShape is the document operations of one app: per returning view,
// and per session (its creation and its TTL delete).
type costShape struct {
	name                     string
	view, session            load.DocOps
	measured                 bool
	viewsMeasured, instances int
}

// perMillion returns the operations of a million views made of sessions of
// v views each: a million/v sessions created (their first view) and
// deleted, the other views returning.
func (c costShape) perMillion(v int) (reads, writes, deletes float64) {
	sessions := 1e6 / float64(v)
	returning := 1e6 - sessions
	return returning*float64(c.view.Reads)/1e3 + sessions*float64(c.session.Reads)/1e3,
		returning*float64(c.view.Writes)/1e3 + sessions*float64(c.session.Writes)/1e3,
		returning*float64(c.view.Deletes)/1e3 + sessions*float64(c.session.Deletes)/1e3
}

// shapeOf returns the measured shape of s: operations per 1,000 returning
// views and per 1,000 sessions, the TTL delete of each session added.
func shapeOf(s *load.FleetSummary) costShape {
	per := func(n int64, of int) int64 {
		if of == 0 {
			return 0
		}
		return int64(math.Round(float64(n) * 1000 / float64(of)))
	}
	c := costShape{name: s.Target, measured: true, viewsMeasured: s.Views, instances: s.Instances}
	c.view = load.DocOps{Reads: per(s.Docs.Reads, s.Views), Writes: per(s.Docs.Writes, s.Views), Deletes: per(s.Docs.Deletes, s.Views), Refused: per(s.Docs.Refused, s.Views)}
	c.session = load.DocOps{Reads: per(s.CreateDocs.Reads, s.Sessions), Writes: per(s.CreateDocs.Writes, s.Sessions), Deletes: per(s.CreateDocs.Deletes, s.Sessions) + 1000}
	return c
}

// writeFleet writes the fleet section and the cost section.
func writeFleet(b *strings.Builder, d *data, o options) {
	f := d.Fleet
	if f == nil || len(f.Summaries) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("")
	p("## A fleet: many instances, no session affinity")
	p("")
	p("`go run ./cmd/report -scenarios fleet` (or `go run ./cmd/load -fleet 1,2,3,4`) in `bench/`. N greeter processes and N")
	p("tutorial processes on one emulator, each app's instances sharing its database; %d visitors, each with a", f.Config.Visitors)
	p("session of its own made before the run, send one request after another, **each to an instance picked at")
	p("random**, as behind a load balancer without session affinity (App Engine standard has none; Cloud Run's is")
	p("best effort). Every page must show the visitor's previous count plus one (**wrong** counts those that do")
	p("not). **%s** is the greeter's Uncounted route on the greeter's instances: the same page, read without", load.GreeterViews)
	p("counting a view, so every page must show the count the visitor's session had. Each app gets %d run(s) of %gs per fleet size, the apps alternating, after a warm-up of %gs each,", f.Config.Rounds, f.Config.Duration, f.Config.Warmup)
	p("bare and with 10 ms added to every Firestore round trip. Latencies with 10 ms round trips are also given in")
	p("round trips (latency / 10 ms). Calls are Firestore RPCs counted per instance; emulator CPU is the CPU time")
	p("of the emulator's processes (its JVM, and the gcloud wrapper that relays its log) per view.")
	p("")
	p("![p50 and p99 latency against the number of instances, 10 ms round trips](bench/%s)", filepath.Base(o.fleet.chart))
	p("")
	p("| rtt ms | app | instances | views/s | p50 ms | p90 ms | p99 ms | p50 / p90 / p99 RTT | calls/view | calls per view by method | views | wrong | non-200 | errors | emulator CPU µs/view |")
	p("|--:|---|--:|--:|--:|--:|--:|---|--:|---|--:|--:|--:|--:|--:|")
	for _, s := range f.Summaries {
		rt := "–"
		if s.RTTms > 0 {
			rt = fmt.Sprintf("%.2f / %.2f / %.2f", s.RTTs(s.P50ms), s.RTTs(s.P90ms), s.RTTs(s.P99ms))
		}
		p("| %.0f | %s | %d | %s | %s | %s | %s | %s | %.2f | %s | %d | %d | %d | %d | %s |",
			s.RTTms, s.Target, s.Instances, num(s.ViewsPerS), num(s.P50ms), num(s.P90ms), num(s.P99ms), rt,
			s.RPCsPerView, breakdown(s.RPCs), s.Views, s.Wrong, s.Non200, s.Errors, cpuText(s.EmulatorCPUPerViewUs))
	}
	writeFleetCPU(b, d)
	writeCost(b, d, o)
}

// writeFleetCPU says what bounds the fleet's latency on this machine: the
// CPU its views take, and Little's law for sequential visitors.
func writeFleetCPU(b *strings.Builder, d *data) {
	for _, s := range d.Fleet.Summaries {
		if s.RTTms != 10 || s.Target != load.Greeter || s.Instances != fleetSize || s.EmulatorCPUPerViewUs == 0 {
			continue
		}
		cpu := (s.EmulatorCPUPerViewUs + s.AppCPUPerViewUs) / 1e6
		p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
		p("")
		p("**What bounds the latency here.** %d visitors that each send their next request when the last one is", d.Fleet.Config.Visitors)
		p("answered keep %d requests in flight, so a view takes %d / views per second (Little's law): the", d.Fleet.Config.Visitors, d.Fleet.Config.Visitors)
		p("latency falls only as the rate rises. With %d instances at 10 ms round trips the greeter served %s views/s,", s.Instances, num(s.ViewsPerS))
		p("each taking %s µs of the emulator's CPU and %s µs of the greeter processes' (the load generator's own", num(s.EmulatorCPUPerViewUs), num(s.AppCPUPerViewUs))
		p("comes on top): %.2f of the machine's %s cores. The view itself is one Commit (calls per view above), one", cpu*s.ViewsPerS, orUnknown(d.Machine.NProc))
		p("round trip; the rest of its latency is waiting for a core shared with the emulator, which production")
		p("Firestore does not take from the app. With fewer visitors in flight the same path comes closer to one round")
		p("trip (`go run ./cmd/load -fleet 3 -rtt 10ms -visitors 4`).")
	}
}

// writeCost writes what a million views cost.
func writeCost(b *strings.Builder, d *data, o options) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	v := o.fleet.viewsPerSession
	// Document counts do not depend on the round trip: all runs of an app
	// and fleet size count, whatever the delay.
	merged := map[string]*load.FleetSummary{}
	for _, s := range d.Fleet.Summaries {
		k := fmt.Sprintf("%s/%d", s.Target, s.Instances)
		m, ok := merged[k]
		if !ok {
			m = &load.FleetSummary{Target: s.Target, Instances: s.Instances}
			merged[k] = m
		}
		m.Views += s.Views
		m.Sessions += s.Sessions
		m.Docs = m.Docs.Plus(s.Docs)
		m.CreateDocs = m.CreateDocs.Plus(s.CreateDocs)
	}
	most := 0
	for _, s := range merged {
		most = max(most, s.Instances)
	}
	var shapes []costShape
	for _, n := range []int{1, most} {
		for _, t := range []string{load.Greeter, load.Tutorial} {
			if s, ok := merged[fmt.Sprintf("%s/%d", t, n)]; ok && s.Views > 0 {
				shapes = append(shapes, shapeOf(s))
			}
		}
		if most == 1 {
			break
		}
	}
	// scs's Firestore store reads the whole session and writes it back on
	// every request: computed, not measured.
	shapes = append(shapes, costShape{name: "scs firestorestore (computed)",
		view: load.DocOps{Reads: 1000, Writes: 1000}, session: load.DocOps{Writes: 1000, Deletes: 1000}})

	p("")
	p("## What a million views cost")
	p("")
	p("Firestore bills document operations. The fleet runs count them at each instance's gRPC proxy: a document")
	p("read for each document a `BatchGetDocuments` or `RunQuery` answer returns (a missing document and a query")
	p("that finds nothing count one read each), and a write or a delete for each write of a `Commit` or")
	p("`BatchWrite` request that succeeded (an update with a transform is one write). A refused conditional")
	p("`Commit` is not billed: its writes are shown apart. Views are the measured returning views;")
	p("sessions are those the runs created before them (their first view). Each session is also deleted once by")
	p("the TTL policy, billed as a delete: counted as one per session created, for every app alike. scs's")
	p("Firestore store is not measured: its shape is computed, one read of the whole session and one write of it")
	p("per request.")
	p("")
	p("| app | instances | per 1,000 returning views: reads / writes / deletes | refused writes per 1,000 views (not billed) | per 1,000 sessions: reads / writes / deletes (TTL included) | views measured |")
	p("|---|--:|---|--:|---|--:|")
	for _, c := range shapes {
		inst, views := "–", "–"
		if c.measured {
			inst, views = fmt.Sprint(c.instances), fmt.Sprint(c.viewsMeasured)
		}
		p("| %s | %s | %d / %d / %d | %d | %d / %d / %d | %s |", c.name, inst, c.view.Reads, c.view.Writes, c.view.Deletes, c.view.Refused,
			c.session.Reads, c.session.Writes, c.session.Deletes, views)
	}
	p("")
	p("A million views, in sessions of %d views (%s sessions created and deleted, the other views returning), at", v, thousands(1e6/float64(v)))
	p("list prices: Firestore Standard edition, us-central1, **$%.2f per 100,000 reads, $%.2f per 100,000 writes,", priceRead, priceWrite)
	p("$%.2f per 100,000 deletes**. That is an assumption, checked 2026-12 against the Firestore pricing page", priceDelete)
	p("(cloud.google.com/firestore/pricing, whose per-location table the copy consulted did not show) and a public")
	p("guide that quotes those US-region prices (airbyte.com, \"Google Firestore Pricing\"); multi-region")
	p("locations (nam5, eur3) cost about twice as much. Free quotas, storage and network are left out.")
	p("")
	p("| app | instances | reads | writes | deletes | $ per million views |")
	p("|---|--:|--:|--:|--:|--:|")
	for _, c := range shapes {
		r, w, del := c.perMillion(v)
		inst := "–"
		if c.measured {
			inst = fmt.Sprint(c.instances)
		}
		cost := r/1e5*priceRead + w/1e5*priceWrite + del/1e5*priceDelete
		p("| %s | %s | %s | %s | %s | %.2f |", c.name, inst, thousands(r), thousands(w), thousands(del), cost)
	}
	writeRouteCost(b, merged, most)
}

// writeRouteCost compares what a million requests of the greeter's page (a
// counted view of a returning visitor) and of its Uncounted route cost.
func writeRouteCost(b *strings.Builder, merged map[string]*load.FleetSummary, n int) {
	page, views := merged[fmt.Sprintf("%s/%d", load.Greeter, n)], merged[fmt.Sprintf("%s/%d", load.GreeterViews, n)]
	if page == nil || views == nil || page.Views == 0 || views.Views == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("")
	p("**A counted view against a request that only reads.** Per million requests of a returning visitor, on %d", n)
	p("instances, at the same prices: the page counts a view (a write); an `Uncounted` route (the greeter's")
	p("`/views`, for API calls, assets and polling) reads the session and writes nothing, unless its expiry is")
	p("due to move (a write at most once per hundredth of the idle timeout, at most a minute).")
	p("")
	p("| route | requests measured | reads | writes | deletes | $ per million requests |")
	p("|---|--:|--:|--:|--:|--:|")
	for _, r := range []struct {
		name string
		s    *load.FleetSummary
	}{{"greeter / (a counted view)", page}, {"greeter /views (`Uncounted`)", views}} {
		per := func(k int64) float64 { return float64(k) * 1e6 / float64(r.s.Views) }
		rd, wr, del := per(r.s.Docs.Reads), per(r.s.Docs.Writes), per(r.s.Docs.Deletes)
		p("| %s | %d | %s | %s | %s | %.2f |", r.name, r.s.Views, thousands(rd), thousands(wr), thousands(del),
			rd/1e5*priceRead+wr/1e5*priceWrite+del/1e5*priceDelete)
	}
}

// thousands formats n rounded to a whole number, with thousands separators.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", math.Round(n))
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
