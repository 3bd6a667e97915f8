package load

import (
	"context"
	"fmt"
	"github.com/firestore-sessions/sessions/internal/tcpproxy"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

// FleetConfig configures the fleet scenario: N instances of each app on one
// emulator, visitors that each send one request after another, each request
// to an instance picked at random, as behind a load balancer without
// session affinity.
type FleetConfig struct {
	Host      string          // the emulator; "" as in Config
	Instances []int           // fleet sizes to run, e.g. 1,2,3,4
	Visitors  int             // concurrent visitors, each with its own session
	RTTs      []time.Duration // round trips added to every Firestore call, one pass each
	Run       RunOptions      // per run
	Rounds    int             // runs per app and fleet size (alternating)
	Warmup    time.Duration   // per app before the first fleet size of each RTT
	Sample    bool            // keep every RPC's duration (RPC latency percentiles)
	// EmulatorGroup is the emulator's process group, whose CPU time is
	// measured (0: the one RunFleet starts, if it does; else not measured).
	EmulatorGroup int
	Log           io.Writer
}

// FleetResult is one run of one app on one fleet size.
type FleetResult struct {
	Target    string  `json:"target"`
	Instances int     `json:"instances"`
	Round     int     `json:"round"`
	RTTms     float64 `json:"rtt_ms"`
	Visitors  int     `json:"visitors"`
	Views     int     `json:"views"` // 200s with a page
	Wrong     int     `json:"wrong"` // pages whose count is not the visitor's previous count + 1
	Non200    int     `json:"non200"`
	Errors    int     `json:"errors"`
	Seconds   float64 `json:"seconds"`
	ViewsPerS float64 `json:"views_per_sec"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// RPCs by method during the run, all instances together.
	RPCs        map[string]int64 `json:"rpcs"`
	RPCsPerView float64          `json:"rpcs_per_view"`
	// Docs counts the billable document operations of the run.
	Docs DocOps `json:"docs"`
	// Sessions created by the run before the measured views (one TTL
	// delete each, eventually), and the document operations creating them
	// took.
	Sessions   int    `json:"sessions"`
	CreateDocs DocOps `json:"create_docs"`
	// AppCPUPerViewUs is the CPU time of all instances per view.
	AppCPUPerViewUs float64 `json:"app_cpu_per_view_us,omitempty"`
	// RPCms holds percentiles of RPC durations by method, as seen between
	// the apps and the emulator (only with FleetConfig.Sample).
	RPCms map[string][3]float64 `json:"rpc_p50_p90_p99_ms,omitempty"`
	// RPCKinds counts the RPCs of RPCms by shape and outcome.
	RPCKinds map[string]int `json:"rpc_kinds,omitempty"`
	// EmulatorCPUPerViewUs is the emulator's CPU time per view (0: not
	// measured); RunnerCPUPerViewUs the load runner's own (load, proxies).
	EmulatorCPUPerViewUs float64 `json:"emulator_cpu_per_view_us,omitempty"`
	RunnerCPUPerViewUs   float64 `json:"runner_cpu_per_view_us,omitempty"`

	latencies []time.Duration
}

// RTTs returns d in round trips of the run (0 when the run added none).
func (r *FleetResult) RTTs(ms float64) float64 {
	if r.RTTms == 0 {
		return 0
	}
	return ms / r.RTTms
}

// fleet is the N instances of one app that a run uses.
type fleet []*app

func (f fleet) rpcs() map[string]int64 {
	m := map[string]int64{}
	for _, a := range f {
		for k, n := range a.RPCs() {
			m[k] += n
		}
	}
	return m
}

func (f fleet) docs() DocOps {
	var d DocOps
	for _, a := range f {
		d = d.plus(a.counter.Docs())
	}
	return d
}

func (f fleet) cpu() (time.Duration, bool) {
	var sum time.Duration
	for _, a := range f {
		if a.CPU == nil {
			return 0, false
		}
		d, err := a.CPU()
		if err != nil {
			return 0, false
		}
		sum += d
	}
	return sum, true
}

// RunFleet runs the fleet scenario: for each round trip time, N greeter
// processes and N tutorial processes on one emulator, for each N of
// cfg.Instances, loaded in alternating turns.
func RunFleet(ctx context.Context, cfg FleetConfig) (results []*FleetResult, err error) {
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	if cfg.Visitors == 0 {
		cfg.Visitors = 16
	}
	if len(cfg.RTTs) == 0 {
		cfg.RTTs = []time.Duration{0}
	}
	if cfg.Run.Timeout == 0 {
		cfg.Run.Timeout = 30 * time.Second
	}
	most := slices.Max(cfg.Instances)
	bins, dir, err := buildApps(ctx, logf)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	host, proc, err := useEmulator(ctx, cfg.Host, logf)
	if err != nil {
		return nil, err
	}
	defer stopEmulator(proc, &err)
	if proc != nil && cfg.EmulatorGroup == 0 {
		cfg.EmulatorGroup = proc.Group()
	}
	hc := NewHTTPClient()
	defer hc.CloseIdleConnections()
	for _, rtt := range cfg.RTTs {
		rs, err := runFleetAt(ctx, hc, cfg, bins, dir, host, rtt, most, logf)
		results = append(results, rs...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func runFleetAt(ctx context.Context, hc *http.Client, cfg FleetConfig, bins map[string]string, dir, host string, rtt time.Duration, most int, logf func(string, ...any)) ([]*FleetResult, error) {
	upstream := host
	if rtt > 0 {
		delay, err := tcpproxy.Start(host, rtt)
		if err != nil {
			return nil, err
		}
		defer delay.Close()
		upstream = delay.Addr
	}
	fleets := map[string]fleet{}
	defer func() {
		for _, f := range fleets {
			for _, a := range f {
				a.close()
			}
		}
	}()
	for _, name := range []string{Greeter, Tutorial} {
		for range most {
			a, err := startBinary(ctx, name, bins[name], dir, upstream, host)
			if err != nil {
				return nil, err
			}
			a.counter.KeepSamples(cfg.Sample)
			fleets[name] = append(fleets[name], a)
			if err := a.ready(ctx); err != nil {
				return nil, err
			}
		}
	}
	names := []string{Greeter, Tutorial}
	if cfg.Warmup > 0 {
		turns := max(1, int(cfg.Warmup/warmupTurn))
		for turn := 1; turn <= turns; turn++ {
			for _, name := range orderNames(names, turn) {
				r, err := runFleetOnce(ctx, hc, fleets[name][:most], name, cfg.Visitors, 0, 0, RunOptions{Duration: cfg.Warmup / time.Duration(turns), Timeout: cfg.Run.Timeout})
				if err != nil {
					return nil, fmt.Errorf("warm-up: %w", err)
				}
				logf("rtt %2.0f ms warm-up %-8s %7.0f views/s", ms(rtt), name, r.ViewsPerS)
			}
		}
	}
	var results []*FleetResult
	for _, n := range cfg.Instances {
		for round := 1; round <= max(cfg.Rounds, 1); round++ {
			for _, target := range orderNames([]string{Greeter, GreeterViews, Tutorial}, round+n) {
				name := target
				if target == GreeterViews {
					name = Greeter
				}
				for _, a := range fleets[name] {
					a.counter.Samples() // forget the previous runs'
				}
				r, err := runFleetOnce(ctx, hc, fleets[name][:n], target, cfg.Visitors, round, cfg.EmulatorGroup, cfg.Run)
				if err != nil {
					return results, err
				}
				r.RTTms = ms(rtt)
				results = append(results, r)
				logf("%s", r.line())
				if err := resetProject(ctx, host, fleets[name][0].project); err != nil {
					logf("warning: %v", err)
				}
			}
		}
	}
	return results, nil
}

func orderNames(names []string, round int) []string {
	if round%2 == 1 {
		return names
	}
	r := slices.Clone(names)
	slices.Reverse(r)
	return r
}

// line is the log line of r.
func (r *FleetResult) line() string {
	s := fmt.Sprintf("rtt %2.0f ms fleet %d round %d %-8s %7.1f views/s  p50 %6.1f  p90 %6.1f  p99 %6.1f ms",
		r.RTTms, r.Instances, r.Round, r.Target, r.ViewsPerS, r.P50ms, r.P90ms, r.P99ms)
	if r.RTTms > 0 {
		s += fmt.Sprintf(" (%.2f/%.2f/%.2f RTT)", r.RTTs(r.P50ms), r.RTTs(r.P90ms), r.RTTs(r.P99ms))
	}
	s += fmt.Sprintf("  views %d wrong %d non-200 %d errors %d  RPCs/view %.2f %s  CPU/view apps %s emulator %s runner %s",
		r.Views, r.Wrong, r.Non200, r.Errors, r.RPCsPerView, perView(r.RPCs, r.Views), cpuText(r.AppCPUPerViewUs), cpuText(r.EmulatorCPUPerViewUs), cpuText(r.RunnerCPUPerViewUs))
	if len(r.RPCms) > 0 {
		var parts []string
		for _, m := range slices.Sorted(maps.Keys(r.RPCms)) {
			p := r.RPCms[m]
			parts = append(parts, fmt.Sprintf("%s ×%.2f %.1f/%.1f/%.1f", m, float64(r.RPCKinds[m])/float64(max(r.Views, 1)), p[0], p[1], p[2]))
		}
		s += "  RPC ms p50/p90/p99 " + strings.Join(parts, ", ")
	}
	return s
}

func perView(m map[string]int64, views int) string {
	if views == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(m[k])/float64(views)))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// runFleetOnce loads f with visitors, each making its session with a first
// request (not measured) and then sending requests one after another, each
// to an instance of f at random, until opt ends the run. Every page must
// show the visitor's previous count plus one; for target GreeterViews,
// whose requests go to /views and count no view, the same count.
func runFleetOnce(ctx context.Context, hc *http.Client, f fleet, target string, n, round, emulatorGroup int, opt RunOptions) (*FleetResult, error) {
	res := &FleetResult{Target: target, Instances: len(f), Round: round, Visitors: n}
	path, step := "", int64(1)
	if target == GreeterViews {
		path, step = "views", 0
	}
	visitors := make([]greeterdrive.Visitor, n)
	createBefore := f.docs()
	for i := range visitors {
		t := &f[rand.IntN(len(f))].Target
		id, err := NewSession(ctx, hc, t)
		if err != nil {
			return nil, err
		}
		visitors[i] = greeterdrive.Visitor{Cookie: id}
	}
	res.Sessions = n
	res.CreateDocs = f.docs().minus(createBefore)
	rpcBefore, docsBefore := f.rpcs(), f.docs()
	cpuBefore, cpuKnown := f.cpu()
	emuBefore, emuErr := GroupCPU(emulatorGroup)
	selfBefore, selfErr := processCPU(os.Getpid())
	start := time.Now()
	results := greeterdrive.StartLoad(ctx, hc, visitors, greeterdrive.LoadOptions{
		URL:         func(int, int) string { return f[rand.IntN(len(f))].URL + path },
		Until:       start.Add(opt.Duration),
		MaxRequests: opt.MaxRequests,
		Timeout:     opt.Timeout,
	}).Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.RPCs = diff(f.rpcs(), rpcBefore)
	res.Docs = f.docs().minus(docsBefore)
	last := make([]int64, n) // each visitor's count so far: its session's first view
	for i := range last {
		last[i] = 1
	}
	var firstErr error
	for _, r := range results { // each visitor's in the order it sent them
		res.latencies = append(res.latencies, r.Latency())
		switch {
		case r.Err != nil:
			res.Errors++
			if firstErr == nil {
				firstErr = r.Err
			}
		case r.Status != http.StatusOK:
			res.Non200++
		default:
			res.Views++
			if r.Views != last[r.Visitor]+step || r.Got != visitors[r.Visitor].Cookie {
				res.Wrong++
			}
			last[r.Visitor] = r.Views
		}
	}
	perView := func(d time.Duration) float64 {
		return float64(d) / float64(time.Microsecond) / float64(max(res.Views, 1))
	}
	if cpu, ok := f.cpu(); ok && cpuKnown {
		res.AppCPUPerViewUs = perView(cpu - cpuBefore)
	}
	if emu, err := GroupCPU(emulatorGroup); err == nil && emuErr == nil && emulatorGroup != 0 {
		res.EmulatorCPUPerViewUs = perView(emu - emuBefore)
	}
	if self, err := processCPU(os.Getpid()); err == nil && selfErr == nil {
		res.RunnerCPUPerViewUs = perView(self - selfBefore)
	}
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.ViewsPerS = float64(res.Views) / res.Seconds
	}
	q := quantiles(res.latencies)
	res.P50ms, res.P90ms, res.P99ms, res.MaxMs = q.p50, q.p90, q.p99, q.max
	res.RPCsPerView = rpcsPer(res.RPCs, res.Views)
	samples := map[string][]time.Duration{}
	for _, a := range f {
		for m, d := range a.counter.Samples() {
			samples[m] = append(samples[m], d...)
		}
	}
	if len(samples) > 0 {
		res.RPCms = map[string][3]float64{}
		res.RPCKinds = map[string]int{}
		for m, d := range samples {
			res.RPCKinds[m] = len(d)
			q := quantiles(d)
			res.RPCms[m] = [3]float64{q.p50, q.p90, q.p99}
		}
	}
	if firstErr != nil && res.Views == 0 {
		return res, fmt.Errorf("%s fleet of %d: no successful request: %w", res.Target, len(f), firstErr)
	}
	return res, nil
}

// FleetSummary aggregates the runs of one app on one fleet size at one
// round trip time.
type FleetSummary struct {
	RTTms     float64 `json:"rtt_ms"`
	Target    string  `json:"target"`
	Instances int     `json:"instances"`
	Runs      int     `json:"runs"`
	Views     int     `json:"views"`
	Wrong     int     `json:"wrong"`
	Non200    int     `json:"non200"`
	Errors    int     `json:"errors"`
	// ViewsPerS is the median of the runs'.
	ViewsPerS float64 `json:"views_per_sec"`
	// P50ms, P90ms and P99ms are over the latencies of all runs.
	P50ms float64 `json:"p50_ms"`
	P90ms float64 `json:"p90_ms"`
	P99ms float64 `json:"p99_ms"`
	// RPCsPerView is all RPCs over all views; RPCs by method per view.
	RPCsPerView float64            `json:"rpcs_per_view"`
	RPCs        map[string]float64 `json:"rpcs_by_method_per_view"`
	// Docs are the document operations of the measured (returning) views,
	// Sessions the sessions created before them and CreateDocs what
	// creating those took.
	Docs       DocOps `json:"docs"`
	Sessions   int    `json:"sessions"`
	CreateDocs DocOps `json:"create_docs"`
	// CPU per view of the app's instances and of the emulator (0: unknown).
	AppCPUPerViewUs      float64 `json:"app_cpu_per_view_us,omitempty"`
	EmulatorCPUPerViewUs float64 `json:"emulator_cpu_per_view_us,omitempty"`
}

// RTTs returns ms in round trips of the summary's runs (0 when they added
// none).
func (s *FleetSummary) RTTs(ms float64) float64 {
	if s.RTTms == 0 {
		return 0
	}
	return ms / s.RTTms
}

// SummarizeFleet aggregates results by round trip time, app and fleet size,
// in the order they first appear.
func SummarizeFleet(results []*FleetResult) []*FleetSummary {
	var out []*FleetSummary
	lats := map[*FleetSummary][]time.Duration{}
	rates := map[*FleetSummary][]float64{}
	rpcs := map[*FleetSummary]map[string]int64{}
	cpu := map[*FleetSummary][2]float64{} // app, emulator: µs in all
	for _, r := range results {
		i := slices.IndexFunc(out, func(s *FleetSummary) bool {
			return s.RTTms == r.RTTms && s.Target == r.Target && s.Instances == r.Instances
		})
		if i < 0 {
			out = append(out, &FleetSummary{RTTms: r.RTTms, Target: r.Target, Instances: r.Instances})
			i = len(out) - 1
			rpcs[out[i]] = map[string]int64{}
		}
		s := out[i]
		s.Runs++
		s.Views += r.Views
		s.Wrong += r.Wrong
		s.Non200 += r.Non200
		s.Errors += r.Errors
		s.Docs = s.Docs.plus(r.Docs)
		s.Sessions += r.Sessions
		s.CreateDocs = s.CreateDocs.plus(r.CreateDocs)
		rates[s] = append(rates[s], r.ViewsPerS)
		lats[s] = append(lats[s], r.latencies...)
		c := cpu[s]
		c[0] += r.AppCPUPerViewUs * float64(r.Views)
		c[1] += r.EmulatorCPUPerViewUs * float64(r.Views)
		cpu[s] = c
		for m, n := range r.RPCs {
			rpcs[s][m] += n
		}
	}
	for _, s := range out {
		rs := rates[s]
		slices.Sort(rs)
		s.ViewsPerS = median(rs)
		q := quantiles(lats[s])
		s.P50ms, s.P90ms, s.P99ms = q.p50, q.p90, q.p99
		s.RPCsPerView = rpcsPer(rpcs[s], s.Views)
		s.RPCs = map[string]float64{}
		for m, n := range rpcs[s] {
			if s.Views > 0 {
				s.RPCs[m] = float64(n) / float64(s.Views)
			}
		}
		if s.Views > 0 {
			s.AppCPUPerViewUs = cpu[s][0] / float64(s.Views)
			s.EmulatorCPUPerViewUs = cpu[s][1] / float64(s.Views)
		}
	}
	return out
}
