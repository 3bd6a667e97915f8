package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/firestore-sessions/sessions/bench/internal/load"
)

// Targets, each measured in one run against the tutorial port or a fixed
// bound.
const (
	maxOverheadRatio = 0.20 // ours' added ns and allocs per returning request vs scs's
	warmRPCsPerView  = 1.0  // returning view, warm instance, sequential
	missRPCsPerView  = 2.0  // first view of a session on an instance
	minSpreadRatio10 = 2.5  // greeter vs tutorial port, spread, 10 ms round trips
	maxP50RoundTrips = 1.5  // greeter p50 in round trips, spread, 10 ms round trips
	minSpreadRatio0  = 1.6  // greeter vs tutorial port, spread, emulator only
	minHot2ReqPerSec = 1000 // one session on two greeter processes, emulator only
)

// rtt10 is the round trip of the network-priced runs.
const rtt10 = 10 * time.Millisecond

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// targetLines states each target with its measured figure.
func targetLines(d *data) []string {
	var out []string
	for _, peer := range []string{"scs", "gorilla"} {
		for _, v := range []string{"returning", "new"} {
			ours, ok1 := d.Micro.overhead(v, "ours")
			theirs, ok2 := d.Micro.overhead(v, peer)
			if !ok1 || !ok2 {
				continue
			}
			rns, ral := ours.ns/theirs.ns, ours.allocs/theirs.allocs
			line := fmt.Sprintf("overhead ratio ours/%s (%s): ns %.2f, allocs %.2f", peer, v, rns, ral)
			if peer == "scs" && v == "returning" {
				line += fmt.Sprintf(" — target ≤ %.2f: %s", maxOverheadRatio, verdict(rns <= maxOverheadRatio && ral <= maxOverheadRatio && theirs.ns > 0 && theirs.allocs > 0))
			} else {
				line += " — for reference"
			}
			out = append(out, line)
		}
	}
	at0, at10 := load.AtRTT(d.Summaries, 0), load.AtRTT(d.Summaries, rtt10)
	if s := load.Find(at0, "seq", load.Greeter); s != nil {
		line := fmt.Sprintf("Firestore RPCs per returning view on a warm instance, greeter, sequential: %.2f (%s)", s.RPCsPerView, breakdown(s.RPCs))
		if s10 := load.Find(at10, "seq", load.Greeter); s10 != nil {
			line += fmt.Sprintf("; %.2f with 10 ms round trips", s10.RPCsPerView)
		}
		out = append(out, line+fmt.Sprintf(" — target %.1f: %s", warmRPCsPerView, verdict(s.RPCsPerView <= warmRPCsPerView)))
	}
	if s := load.Find(at0, "miss", load.Greeter); s != nil {
		out = append(out, fmt.Sprintf("Firestore RPCs per view on a miss (a session's first view on another greeter process): %.2f (%s) — target ≤ %.0f: %s",
			s.RPCsPerView, breakdown(s.RPCs), missRPCsPerView, verdict(s.RPCsPerView <= missRPCsPerView && s.OK > 0)))
	}
	for _, target := range []string{load.Greeter, load.Tutorial} {
		var parts []string
		for _, sc := range []string{"seq", "spread", "hot", "hot2"} {
			if s := load.Find(at0, sc, target); s != nil {
				parts = append(parts, fmt.Sprintf("%s %.2f", sc, s.RPCsPerView))
			}
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("Firestore RPCs per view, %s, emulator only: %s", target, strings.Join(parts, ", ")))
		}
	}
	g, t := load.Find(at10, "spread", load.Greeter), load.Find(at10, "spread", load.Tutorial)
	if g != nil && t != nil && t.ReqPerSec > 0 {
		r := g.ReqPerSec / t.ReqPerSec
		out = append(out, fmt.Sprintf("10 ms round trips, spread: req/s ratio greeter/tutorial %.2f (%.0f vs %.0f req/s) — target ≥ %.1f: %s",
			r, g.ReqPerSec, t.ReqPerSec, minSpreadRatio10, verdict(r >= minSpreadRatio10)))
		rt := g.P50ms / float64(rtt10.Milliseconds())
		out = append(out, fmt.Sprintf("10 ms round trips, spread: greeter p50 %.1f ms = %.2f round trips (tutorial %.1f ms) — target ≤ %.1f: %s",
			g.P50ms, rt, t.P50ms, maxP50RoundTrips, verdict(rt <= maxP50RoundTrips)))
	}
	g, t = load.Find(at0, "spread", load.Greeter), load.Find(at0, "spread", load.Tutorial)
	if g != nil && t != nil && t.ReqPerSec > 0 {
		r := g.ReqPerSec / t.ReqPerSec
		out = append(out, fmt.Sprintf("emulator only, spread: req/s ratio greeter/tutorial %.2f (%.0f vs %.0f req/s) — target ≥ %.1f: %s",
			r, g.ReqPerSec, t.ReqPerSec, minSpreadRatio0, verdict(r >= minSpreadRatio0)))
	}
	if h := load.Find(at0, "hot2", load.Greeter); h != nil {
		clean := h.Non200 == 0 && h.Errors == 0 && h.Correct()
		line := fmt.Sprintf("one hot session on two greeter processes, emulator only: %.0f req/s (non-200 %d, errors %d, lost %d, duplicate counts %d)",
			h.ReqPerSec, h.Non200, h.Errors, h.Lost, h.Duplicates)
		if h10 := load.Find(at10, "hot2", load.Greeter); h10 != nil {
			line += fmt.Sprintf("; %.0f req/s with 10 ms round trips (non-200 %d, lost %d, duplicate counts %d)", h10.ReqPerSec, h10.Non200, h10.Lost, h10.Duplicates)
		}
		out = append(out, line+fmt.Sprintf(" — target ≥ %d req/s, 0 non-200, 0 lost, distinct counts: %s", minHot2ReqPerSec, verdict(h.ReqPerSec >= minHot2ReqPerSec && clean)))
	}
	return append(out, fleetTargetLines(d)...)
}

// Targets of the fleet part: 3 instances, no affinity.
const (
	fleetSize                  = 3
	maxFleetP50, maxFleetP90   = 1.3, 1.6 // round trips, 10 ms round trips
	maxFleetP99                = 2.5
	maxFleetCallsPerView       = 2.05
	minFleetRatio10, minFleet2 = 2.5, 1.3 // views/s greeter/tutorial at 10 ms and 2 ms
)

// fleetTargetLines states the fleet part's targets with their figures.
func fleetTargetLines(d *data) []string {
	if d.Fleet == nil {
		return nil
	}
	find := func(rttMs float64, target string) *load.FleetSummary {
		for _, s := range d.Fleet.Summaries {
			if s.RTTms == rttMs && s.Target == target && s.Instances == fleetSize {
				return s
			}
		}
		return nil
	}
	var out []string
	if g, t := find(10, load.Greeter), find(10, load.Tutorial); g != nil && t != nil {
		p50, p90, p99 := g.RTTs(g.P50ms), g.RTTs(g.P90ms), g.RTTs(g.P99ms)
		out = append(out,
			fmt.Sprintf("fleet of %d, 10 ms round trips: greeter p50 / p90 / p99 %.2f / %.2f / %.2f round trips (tutorial %.2f / %.2f / %.2f) — target ≤ %.1f / %.1f / %.1f: %s",
				fleetSize, p50, p90, p99, t.RTTs(t.P50ms), t.RTTs(t.P90ms), t.RTTs(t.P99ms), maxFleetP50, maxFleetP90, maxFleetP99,
				verdict(p50 <= maxFleetP50 && p90 <= maxFleetP90 && p99 <= maxFleetP99)),
			fmt.Sprintf("fleet of %d, 10 ms round trips: greeter %.2f Firestore calls per view — target ≤ %.2f: %s", fleetSize, g.RPCsPerView, maxFleetCallsPerView, verdict(g.RPCsPerView <= maxFleetCallsPerView)),
			fmt.Sprintf("fleet of %d, 10 ms round trips: views/s ratio greeter/tutorial %.2f (%.0f vs %.0f), %d wrong counts — target ≥ %.1f, 0 wrong: %s",
				fleetSize, g.ViewsPerS/t.ViewsPerS, g.ViewsPerS, t.ViewsPerS, g.Wrong, minFleetRatio10, verdict(g.ViewsPerS/t.ViewsPerS >= minFleetRatio10 && g.Wrong == 0)))
	}
	if g, t := find(2, load.Greeter), find(2, load.Tutorial); g != nil && t != nil {
		out = append(out, fmt.Sprintf("fleet of %d, 2 ms round trips: views/s ratio greeter/tutorial %.2f (%.0f vs %.0f) — target ≥ %.1f: %s",
			fleetSize, g.ViewsPerS/t.ViewsPerS, g.ViewsPerS, t.ViewsPerS, minFleet2, verdict(g.ViewsPerS/t.ViewsPerS >= minFleet2)))
	}
	if v := find(10, load.GreeterViews); v != nil && v.Views > 0 {
		reads, writes := float64(v.Docs.Reads)/float64(v.Views), float64(v.Docs.Writes+v.Docs.Deletes)/float64(v.Views)
		out = append(out, fmt.Sprintf("fleet of %d, 10 ms round trips: greeter's Uncounted route (/views) %.2f document reads and %.2f writes per request, %.2f Firestore calls, %d wrong counts — target 1 read, 0 writes, 0 wrong: %s",
			fleetSize, reads, writes, v.RPCsPerView, v.Wrong, verdict(reads <= 1.005 && writes == 0 && v.Wrong == 0)))
	}
	for _, s := range d.Fleet.Summaries {
		if s.RTTms == 10 && s.Target == load.Greeter && s.Instances == 1 {
			out = append(out, fmt.Sprintf("fleet of 1, 10 ms round trips: greeter %.2f Firestore calls per view — target 1.00: %s", s.RPCsPerView, verdict(s.RPCsPerView <= 1.005)))
		}
	}
	return out
}

// breakdown formats RPCs per view by method.
func breakdown(m map[string]float64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func writeReport(d *data, o options) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Benchmarks")
	p("")
	p("Generated by `cd bench && go run ./cmd/report` on %s (%s); do not edit by hand. The raw results are in",
		d.Suite.Finished.UTC().Format("2006-01-02 15:04 MST"), tookText(d, o))
	p("[`bench/results/`](bench/results/); how to run the benchmarks is in [`bench/README.md`](bench/README.md).")
	if o.quick {
		p("")
		p("**Quick mode: every benchmark ran once, briefly. These figures check the pipeline and mean nothing.**")
	}
	p("")
	p("## Targets")
	p("")
	for _, l := range targetLines(d) {
		p("- %s", l)
	}
	p("")
	p("**What a view costs.** A returning visitor's view is one `Commit` on whichever instance serves it:")
	p("Firestore's atomic increment of the count, which reads back the session's change counter, so an")
	p("instance knows whether the values it holds in memory are current (a session it has not seen is read")
	p("side by side with the `Commit`: still one round trip). The")
	p("tutorial's `RunTransaction` is three round trips (`BeginTransaction`, `BatchGetDocuments`,")
	p("`Commit`) and holds a lock between them. In production a round trip to Firestore costs network")
	p("time, so the runs are made twice: on the bare emulator (loopback), and with 10 ms added to every")
	p("round trip by a delay proxy in front of the emulator, about what an app on App Engine or Cloud")
	p("Run pays. On this 2-core machine the emulator (a JVM) shares the cores with both apps, the load")
	p("generator and the proxies, so under 16 clients the emulator's queueing adds to every round trip:")
	p("the spread p50 on the bare emulator is that queueing. Where a load target above is missed, that is")
	p("the reason; a Firestore on its own machines (production) or a larger machine closes it, and the")
	p("sequential runs, which queue nothing, show the round trips alone.")
	p("")
	p("Overhead is a contender's figure minus the bare handler's (medians of %d runs); a ratio divides", d.Micro.runs())
	p("ours by the peer's. Ours includes checking every Set against Firestore's document limits, in")
	p("the Session and again in the memory store, and the save of the handler's changes before the")
	p("response's headers go. Load req/s are medians of %d alternating runs per", d.Config.Rounds)
	p("target; see below.")
	var fast []string
	for _, v := range []string{"returning", "new"} {
		ours, ok1 := d.Micro.fastestOverhead(v, "ours")
		scs, ok2 := d.Micro.fastestOverhead(v, "scs")
		if ok1 && ok2 && scs.ns > 0 {
			fast = append(fast, fmt.Sprintf("%s %.2f", v, ours.ns/scs.ns))
		}
	}
	if len(fast) > 0 {
		p("Timings on a shared machine are noisy; as a check, the ns ratio ours/scs from the fastest run of")
		p("each contender instead of the median: %s.", strings.Join(fast, ", "))
	}
	p("")
	p("## Machine")
	p("")
	p("| | |")
	p("|---|---|")
	p("| CPU | %s |", orUnknown(d.Machine.CPU))
	p("| `nproc` | %s |", orUnknown(d.Machine.NProc))
	p("| OS | %s |", orUnknown(d.Machine.OS))
	p("| Go | %s |", orUnknown(d.Machine.Go))
	p("| Firestore emulator | %s (%s) |", orUnknown(d.Machine.Emulator), orUnknown(d.Machine.SDK))
	p("")
	p("The machine is shared: other builds and tests may run during a benchmark, so single figures are")
	p("noisy. The micro-benchmarks repeat %d times (benchstat gives the spread), and the load runs", d.Micro.runs())
	p("alternate their targets so that both meet the same conditions.")
	p("")

	writeMicro(&b, d, o)
	writeLoad(&b, d)
	writeFleet(&b, d, o)
	return b.String()
}

func tookText(d *data, o options) string {
	if d.Took == 0 {
		return "report rewritten from saved results"
	}
	return "took " + d.Took.Round(time.Second).String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func writeMicro(b *strings.Builder, d *data, o options) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	p("## Middleware overhead (micro-benchmarks)")
	p("")
	p("`go test -bench . -benchmem -benchtime=%s` in `bench/` ([`micro_test.go`](bench/micro_test.go)), %d rounds", o.benchtime, d.Micro.runs())
	p("each running every contender once (interleaved, so that load from elsewhere does not favour one):")
	p("one request per iteration through `httptest.NewRecorder` and a direct `ServeHTTP`, in which the")
	p("handler reads an integer from the session and stores it plus one, then writes a short page.")
	p("*new*: the request has no cookie, so a session is created; *returning*: it carries the cookie of")
	p("a session created in setup, which is read and written back. Contenders: **bare** (the same page,")
	p("no session: the baseline), **ours** (`sessions.New(sessions.NewMemoryStore(), sessions.Config{})`;")
	p("it also counts the view), **scs** (`alexedwards/scs/v2` with its memstore), **gorilla**")
	p("(`gorilla/sessions` with a `CookieStore`). The new-visitor runs keep every session they create, as a")
	p("server does until the sessions expire, so their cost includes the garbage collector's work on a")
	p("growing store.")
	p("")
	p("| visitor | contender | ns/op | B/op | allocs/op | overhead ns/op | overhead allocs/op |")
	p("|---|---|--:|--:|--:|--:|--:|")
	for _, v := range []string{"returning", "new"} {
		for _, lib := range []string{"bare", "ours", "scs", "gorilla"} {
			f, ok := d.Micro[[2]string{v, lib}]
			if !ok {
				continue
			}
			ns, by, al := f.median()
			oh, _ := d.Micro.overhead(v, lib)
			ohNS, ohAl := "—", "—"
			if lib != "bare" {
				ohNS, ohAl = fmt.Sprintf("%.0f", oh.ns), fmt.Sprintf("%.0f", oh.allocs)
			}
			p("| %s | %s | %.0f | %.0f | %.0f | %s | %s |", v, lib, ns, by, al, ohNS, ohAl)
		}
	}
	p("")
	p("benchstat (`go tool benchstat -col /lib results/micro.txt`; \"vs base\" compares with bare):")
	p("")
	p("```")
	b.Write(stripBenchHeader(d.Benchstat))
	p("```")
	p("")
	p("### Where ours allocates")
	p("")
	p("Every allocation of `ours` (`-memprofilerate=1`), attributed to the innermost line of the library")
	p("on its stack (with that line's caller in the library), per request. The handler's own allocations")
	p("and the recorder's (which bare has too) are left out.")
	for _, v := range []string{"returning", "new"} {
		p("")
		p("%s visitor: %.1f allocs/op in the library", strings.ToUpper(v[:1])+v[1:], d.AllocTotals[v])
		p("")
		p("| allocs/op | where | source |")
		p("|--:|---|---|")
		for _, s := range d.Allocs[v] {
			if s.perOp < 0.05 {
				continue
			}
			p("| %.1f | `%s` | `%s` |", s.perOp, s.where, strings.ReplaceAll(s.source, "|", `\|`))
		}
	}
	p("")
}

// stripBenchHeader drops benchstat's goos/goarch/pkg/cpu lines, shown in
// the machine table already.
func stripBenchHeader(out []byte) []byte {
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "goos:") || strings.HasPrefix(l, "goarch:") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "cpu:") {
			continue
		}
		keep = append(keep, l)
	}
	return []byte(strings.TrimLeft(strings.Join(keep, "\n"), "\n"))
}

func cpuText(us float64) string {
	if us == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", us)
}

func writeLoad(b *strings.Builder, d *data) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	cfg := d.Config
	p("## End to end under load (Firestore emulator)")
	p("")
	p("`go run ./cmd/load` in `bench/` ([`internal/load`](bench/internal/load)). Against one Firestore emulator")
	p("on loopback, the runner serves two apps, each with its own Firestore project, and loads them with HTTP")
	p("clients that each send one request after another (keep-alive, 127.0.0.1 only):")
	p("")
	if d.Suite.Mode == load.InProcess {
		p("- **greeter**: the greeter's page (`cmd/greeter`) rebuilt in the runner's process from the library —")
		p("  `m.Middleware` with `sessions.OpenFirestore(ctx, project, sessions.FirestoreConfig{}, option.WithGRPCConn(conn))`, a random greeting")
		p("  stored by `Config.OnCreate`, and `<body>N views for \"greeting\"</body>`.")
		p("- **tutorial**: a Go port of the Flask app of Google's \"Handling sessions with Firestore\"")
		p("  ([`bench/tutorial`](bench/tutorial/tutorial.go)), served in the runner's process too: per request one")
		p("  `client.RunTransaction` that gets the document named by the `session_id` cookie, creates")
		p("  `{greeting, views: 0}` if it is missing, adds one view and `Set`s the document back.")
		p("")
		p("Each app's Firestore client sits on a gRPC connection of its own (`option.WithGRPCConn`) whose client")
		p("interceptors count its RPCs (a server stream counts once, when it opens).")
	} else {
		p("- **greeter**: the real greeter binary, `go build` in its module (`cmd/greeter`) on this checkout: the library's")
		p("  middleware with its Firestore store (`PORT`, `FIRESTORE_EMULATOR_HOST`, `GOOGLE_CLOUD_PROJECT` set by")
		p("  the runner).")
		p("- **tutorial**: a Go port of the Flask app of Google's \"Handling sessions with Firestore\"")
		p("  ([`bench/tutorial`](bench/tutorial/tutorial.go), binary [`bench/cmd/tutorial`](bench/cmd/tutorial/main.go)):")
		p("  per request one `client.RunTransaction` that gets the document named by the `session_id` cookie,")
		p("  creates `{greeting, views: 0}` if it is missing, adds one view and `Set`s the document back.")
		p("")
		p("Each app runs in its own process, its `FIRESTORE_EMULATOR_HOST` pointing at a transparent gRPC proxy of")
		p("its own in the runner, which forwards every call to the emulator over a connection whose client")
		p("interceptors count the RPCs (a server stream counts once). Both apps pay the same extra hop. The")
		p("app's CPU time (user + system, from `/proc/PID/stat`) is read around each run.")
	}
	p("")
	p("Every scenario runs twice: on the bare emulator (**rtt 0**), and with **10 ms** added to every round")
	p("trip between the apps and Firestore by a TCP proxy in front of the emulator that holds each chunk of")
	p("data 5 ms in each direction (chunks in flight overlap, as on a network; order is kept).")
	p("")
	p("Scenarios: **seq** 1 client, its own session; **spread** 16 clients, each its own session; **hot** 16")
	p("clients sharing one session; **hot2** 16 clients sharing one session, served by two greeter processes")
	p("on one database (two instances behind a load balancer), each client alternating between them;")
	p("**miss** one client creating a session on one greeter process and viewing it once on the other,")
	p("which has never seen it (RPCs and latency of that view only). The tutorial port runs seq, spread and")
	p("hot. Sessions are created before each run (not measured). Each run lasts %v", cfg.Run.Duration)
	p("(no request starts later; the answers in flight are awaited and counted) and is bounded to %d requests.", cfg.Run.MaxRequests)
	if cfg.Restart {
		p("Before each scenario the emulator is restarted (it slows down as it grows) and warmed up for %v per", cfg.Warmup)
	} else {
		p("Before each scenario the apps' data are deleted, and the emulator is warmed up for %v per", cfg.Warmup)
	}
	p("target in alternating 3-s turns of spread load (its JIT keeps speeding it up for about a minute);")
	p("then each target runs %d times, alternating A B, B A, A B, ... so that neither always follows the other.", cfg.Rounds)
	p("")
	p("- **req/s**: 200 answers per second of wall time (median of the runs; min–max in brackets).")
	p("- **p50 / p99**: latency of all requests of all runs, as seen by the client.")
	p("- **lost**: per session, 200 answers minus the growth of the view count stored in Firestore, when positive;")
	p("  **dup**: 200 answers of a session showing a count that another answer of that session showed;")
	p("  **out of range** would count numbers the run did not store.")
	p("- **RPCs/view**: Firestore RPCs the app sent during the runs divided by its 200 answers. Every view")
	p("  of a run is a returning view (the sessions exist before it), so seq and spread give the cost of a")
	p("  returning view; in hot and hot2, one store call may count several views.")
	if d.Suite.Mode != load.InProcess {
		p("- **CPU µs/view**: the app process's CPU time during the runs divided by its 200 answers. With one")
		p("  client (seq) it includes the Go scheduler's spinning while the app waits for Firestore, so it is")
		p("  higher than under load.")
	}
	p("")
	p("![req/s and p99 latency per scenario, 10 ms round trips](bench/chart.svg)")
	p("")
	p("| rtt ms | scenario | target | req/s | p50 ms | p99 ms | 200 | non-200 | errors | lost | dup | out of range | RPCs/view | RPCs per view by method | CPU µs/view |")
	p("|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")
	for _, s := range d.Summaries {
		p("| %.0f | %s | %s | %s (%s–%s) | %s | %s | %d | %d | %d | %d | %d | %d | %.2f | %s | %s |",
			s.RTTms, s.Scenario, s.Target, num(s.ReqPerSec), num(s.ReqPerSecMin), num(s.ReqPerSecMax), num(s.P50ms), num(s.P99ms),
			s.OK, s.Non200, s.Errors, s.Lost, s.Duplicates, s.OutOfRange, s.RPCsPerView, breakdown(s.RPCs), cpuText(s.AppCPUPerViewUs))
	}
	p("")
	p("<details><summary>Every run, in order</summary>")
	p("")
	p("| rtt ms | scenario | round | target | req/s | p50 ms | p99 ms | max ms | 200 | non-200 | errors | lost | unacked | dup | RPCs/view | CPU µs/view | mean RPC ms |")
	p("|--:|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	for _, r := range d.Suite.Results {
		p("| %.0f | %s | %d | %s | %s | %s | %s | %s | %d | %d | %d | %d | %d | %d | %.2f | %s | %s |",
			r.RTTms, r.Scenario, r.Round, r.Target, num(r.ReqPerSec), num(r.P50ms), num(r.P99ms), num(r.MaxMs),
			r.OK, r.Non200, r.Errors, r.Lost, r.Unacked, r.Duplicates, r.RPCsPerView, cpuText(r.AppCPUPerViewUs), breakdown(r.RPCMeanMs))
	}
	p("")
	p("*unacked*: stored views that no 200 answer reported (a request that failed after its write landed).")
	p("</details>")
}
