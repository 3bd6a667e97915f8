// Package load drives HTTP session apps backed by the Firestore emulator
// and measures them: throughput, latency, errors, correctness of the view
// counts (lost increments, duplicate counts) and Firestore RPCs per view.
package load

import (
	"context"
	"fmt"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A Scenario is a shape of load.
type Scenario struct {
	Name    string // short name: seq, spread, hot, hot2, miss
	Title   string // for tables
	Clients int    // concurrent clients, each sending one request after another
	Shared  bool   // all clients use one session (else each its own)
	// Two serves the scenario with two greeter processes sharing one
	// database, as two instances of an app behind a load balancer: each
	// client alternates between them. Only the greeter runs it.
	Two bool
	// Miss measures the first view of a session on an instance that has
	// never seen it: each session is created through the first instance,
	// then viewed once through the second, whose RPCs are counted.
	Miss bool
}

// Scenarios are the scenarios of a full run, in order.
var Scenarios = []Scenario{
	{Name: "seq", Title: "1 client, sequential", Clients: 1},
	{Name: "spread", Title: "16 clients, own sessions", Clients: 16},
	{Name: "hot", Title: "16 clients, one session", Clients: 16, Shared: true},
	{Name: "hot2", Title: "16 clients, one session, two greeter processes", Clients: 16, Shared: true, Two: true},
	{Name: "miss", Title: "first view on the other greeter process", Clients: 1, Two: true, Miss: true},
}

// ScenarioNamed returns the scenario called name.
func ScenarioNamed(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// A Target is one app under load: an HTTP server answering GET / with
// `<body>N views for "greeting"</body>` and a session_id cookie.
type Target struct {
	Name string // "greeter", "tutorial"
	URL  string // "http://127.0.0.1:PORT/"
	// RPCs returns the Firestore RPCs the app has sent so far, by method.
	RPCs func() map[string]int64
	// RPCTimes returns the time the app's Firestore RPCs took so far, by
	// method (nil: unknown).
	RPCTimes func() map[string]time.Duration
	// CPU returns the CPU time the app's process has used so far (nil:
	// unknown, as when the app shares the runner's process).
	CPU func() (time.Duration, error)
	// StoredViews returns the view count stored for session id.
	StoredViews func(ctx context.Context, id string) (int64, error)
	// Also is a second instance of the app, serving the same sessions from
	// the same database (nil: none).
	Also *Target
}

// urls returns the URLs of t's instances.
func (t *Target) urls() []string {
	if t.Also != nil {
		return []string{t.URL, t.Also.URL}
	}
	return []string{t.URL}
}

// rpcs returns the RPCs of all of t's instances so far.
func (t *Target) rpcs() map[string]int64 {
	m := maps.Clone(t.RPCs())
	if t.Also != nil {
		for k, n := range t.Also.RPCs() {
			m[k] += n
		}
	}
	return m
}

// cpu returns the CPU time of all of t's instances so far; nil when unknown.
func (t *Target) cpu() func() (time.Duration, error) {
	if t.CPU == nil || (t.Also != nil && t.Also.CPU == nil) {
		return nil
	}
	return func() (time.Duration, error) {
		d, err := t.CPU()
		if err != nil || t.Also == nil {
			return d, err
		}
		d2, err := t.Also.CPU()
		return d + d2, err
	}
}

// Result is the outcome of one run of one target in one scenario.
type Result struct {
	Target   string  `json:"target"`
	Scenario string  `json:"scenario"`
	Round    int     `json:"round"`
	RTTms    float64 `json:"rtt_ms"` // round trip added to every Firestore call

	Requests  int     `json:"requests"`    // completed requests
	OK        int     `json:"ok"`          // 200 answers with a count
	Non200    int     `json:"non200"`      // other HTTP answers
	Errors    int     `json:"errors"`      // transport errors, timeouts, unreadable bodies
	Seconds   float64 `json:"seconds"`     // wall time, first request to last answer
	ReqPerSec float64 `json:"req_per_sec"` // OK / Seconds
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`

	// Lost counts acknowledged views missing from the store: per session,
	// OK answers minus the growth of the stored count, when positive.
	Lost int `json:"lost"`
	// Unacked counts stored views that no OK answer reported (requests that
	// failed after their write landed).
	Unacked int `json:"unacked"`
	// Duplicates counts OK answers of a session showing a count that an
	// earlier answer of the same session showed already.
	Duplicates int `json:"duplicates"`
	// OutOfRange counts OK answers whose count is not among the counts the
	// run added to the store.
	OutOfRange int `json:"out_of_range"`

	RPCs        map[string]int64 `json:"rpcs"`          // by method, during the run
	RPCsPerView float64          `json:"rpcs_per_view"` // all RPCs / OK
	// AppCPUPerViewUs is the CPU time the app's process used per OK answer,
	// in microseconds (0: unknown).
	AppCPUPerViewUs float64 `json:"app_cpu_per_view_us,omitempty"`
	AppCPUms        float64 `json:"app_cpu_ms,omitempty"`
	// RPCMeanMs is the mean duration of one RPC, by method.
	RPCMeanMs map[string]float64 `json:"rpc_mean_ms,omitempty"`

	latencies []time.Duration
}

// Correct reports whether every acknowledged view was stored once, with a
// count of its own.
func (r *Result) Correct() bool {
	return r.Lost == 0 && r.Duplicates == 0 && r.OutOfRange == 0
}

// RunOptions bound one run.
type RunOptions struct {
	Duration    time.Duration // no request starts after this
	MaxRequests int           // nor after this many (0: no limit)
	Timeout     time.Duration // per request (0: 30 s)
}

// NewSession creates a session on t and returns its id.
func NewSession(ctx context.Context, hc *http.Client, t *Target) (string, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		p := greeterdrive.Visit(ctx, hc, t.URL, "")
		switch {
		case p.Err != nil:
			lastErr = p.Err
		case p.Status != http.StatusOK || p.Got == "":
			lastErr = fmt.Errorf("%s: new session: status %d, cookie %q", t.Name, p.Status, p.Got)
		case p.Views != 1:
			return "", fmt.Errorf("%s: new session: first view numbered %d", t.Name, p.Views)
		default:
			return p.Got, nil
		}
	}
	return "", lastErr
}

// Run runs scenario sc against t once: it creates the sessions (not
// measured), then sends requests from sc.Clients clients until
// opt.Duration has passed or opt.MaxRequests have been sent, waits for every
// answer, and checks the counts against the store.
func Run(ctx context.Context, hc *http.Client, t *Target, sc Scenario, round int, opt RunOptions) (*Result, error) {
	if opt.Timeout == 0 {
		opt.Timeout = 30 * time.Second
	}
	if sc.Miss {
		return runMiss(ctx, hc, t, sc, round, opt)
	}
	res := &Result{Target: t.Name, Scenario: sc.Name, Round: round}
	urls := t.urls()
	cpuOf := t.cpu()

	nSessions := sc.Clients
	if sc.Shared {
		nSessions = 1
	}
	ids := make([]string, nSessions)
	before := make([]int64, nSessions)
	for i := range ids {
		id, err := NewSession(ctx, hc, t)
		if err != nil {
			return nil, err
		}
		ids[i] = id
		if before[i], err = t.StoredViews(ctx, id); err != nil {
			return nil, fmt.Errorf("%s: reading session: %w", t.Name, err)
		}
	}

	type answer struct {
		session int
		views   int64
	}
	type clientLog struct {
		answers   []answer
		latencies []time.Duration
		non200    int
		errs      int
		firstErr  error
	}
	logs := make([]clientLog, sc.Clients)
	var sent atomic.Int64
	rpcBefore := t.rpcs()
	var cpuBefore time.Duration
	if cpuOf != nil {
		var err error
		if cpuBefore, err = cpuOf(); err != nil {
			return nil, err
		}
	}
	var timesBefore map[string]time.Duration
	if t.RPCTimes != nil {
		timesBefore = t.RPCTimes()
	}
	start := time.Now()
	deadline := start.Add(opt.Duration)
	var wg sync.WaitGroup
	for c := range sc.Clients {
		session := c % nSessions
		wg.Go(func() {
			log := &logs[c]
			for k := 0; time.Now().Before(deadline) && ctx.Err() == nil; k++ {
				if opt.MaxRequests > 0 && sent.Add(1) > int64(opt.MaxRequests) {
					return
				}
				rctx, cancel := context.WithTimeout(ctx, opt.Timeout)
				t0 := time.Now()
				p := greeterdrive.Visit(rctx, hc, urls[(c+k)%len(urls)], ids[session])
				lat := time.Since(t0)
				cancel()
				log.latencies = append(log.latencies, lat)
				switch {
				case p.Err != nil:
					log.errs++
					if log.firstErr == nil {
						log.firstErr = p.Err
					}
				case p.Status != http.StatusOK:
					log.non200++
				default:
					log.answers = append(log.answers, answer{session, p.Views})
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.RPCs = diff(t.rpcs(), rpcBefore)
	if cpuOf != nil {
		cpu, err := cpuOf()
		if err != nil {
			return nil, err
		}
		ok := 0
		for _, l := range logs {
			ok += len(l.answers)
		}
		res.AppCPUms = ms(cpu - cpuBefore)
		if ok > 0 {
			res.AppCPUPerViewUs = float64(cpu-cpuBefore) / float64(time.Microsecond) / float64(ok)
		}
	}
	if t.RPCTimes != nil {
		res.RPCMeanMs = map[string]float64{}
		for m, d := range t.RPCTimes() {
			if n := res.RPCs[m]; n > 0 {
				res.RPCMeanMs[m] = ms(d-timesBefore[m]) / float64(n)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	perSession := make([][]int64, nSessions)
	var firstErr error
	for _, l := range logs {
		res.OK += len(l.answers)
		res.Non200 += l.non200
		res.Errors += l.errs
		res.latencies = append(res.latencies, l.latencies...)
		for _, a := range l.answers {
			perSession[a.session] = append(perSession[a.session], a.views)
		}
		if firstErr == nil {
			firstErr = l.firstErr
		}
	}
	res.Requests = res.OK + res.Non200 + res.Errors
	res.rates(elapsed)

	for i, id := range ids {
		after, err := t.StoredViews(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("%s: reading session after the run: %w", t.Name, err)
		}
		counts := perSession[i]
		grown := int(after - before[i])
		res.Lost += max(0, len(counts)-grown)
		res.Unacked += max(0, grown-len(counts))
		slices.Sort(counts)
		for j, n := range counts {
			if j > 0 && n == counts[j-1] {
				res.Duplicates++
			}
			if n <= before[i] || n > after {
				res.OutOfRange++
			}
		}
	}
	if firstErr != nil && res.OK == 0 {
		return res, fmt.Errorf("%s %s: no successful request: %w", t.Name, sc.Name, firstErr)
	}
	return res, nil
}

// runMiss measures the first view of a session on an instance that has
// never seen it: it creates a session through t, views it once through
// t.Also, and counts t.Also's RPCs and latency, one session after another,
// until opt.Duration has passed or opt.MaxRequests sessions were viewed.
func runMiss(ctx context.Context, hc *http.Client, t *Target, sc Scenario, round int, opt RunOptions) (*Result, error) {
	if t.Also == nil {
		return nil, fmt.Errorf("%s: scenario %s needs two instances", t.Name, sc.Name)
	}
	res := &Result{Target: t.Name, Scenario: sc.Name, Round: round}
	var measured time.Duration
	var rpcs map[string]int64
	deadline := time.Now().Add(opt.Duration)
	for time.Now().Before(deadline) && (opt.MaxRequests == 0 || res.Requests < opt.MaxRequests) {
		id, err := NewSession(ctx, hc, t)
		if err != nil {
			return nil, err
		}
		before := t.Also.RPCs()
		rctx, cancel := context.WithTimeout(ctx, opt.Timeout)
		t0 := time.Now()
		p := greeterdrive.Visit(rctx, hc, t.Also.URL, id)
		lat := time.Since(t0)
		cancel()
		measured += lat
		res.Requests++
		res.latencies = append(res.latencies, lat)
		for k, n := range diff(t.Also.RPCs(), before) {
			if rpcs == nil {
				rpcs = map[string]int64{}
			}
			rpcs[k] += n
		}
		switch {
		case p.Err != nil:
			res.Errors++
			continue
		case p.Status != http.StatusOK:
			res.Non200++
			continue
		}
		res.OK++
		stored, err := t.StoredViews(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("%s: reading session: %w", t.Name, err)
		}
		switch {
		case p.Views != 2 || p.Got != id:
			res.OutOfRange++
		case stored < 2:
			res.Lost++
		case stored > 2:
			res.Duplicates++
		}
	}
	res.RPCs = rpcs
	res.rates(measured)
	return res, nil
}

// rates sets the figures of res that follow from its answers, latencies
// and RPCs, over elapsed time.
func (res *Result) rates(elapsed time.Duration) {
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.ReqPerSec = float64(res.OK) / res.Seconds
	}
	q := quantiles(res.latencies)
	res.P50ms, res.P99ms, res.MaxMs = q.p50, q.p99, q.max
	res.RPCsPerView = rpcsPer(res.RPCs, res.OK)
}

// latencyQuantiles are quantiles of latencies, in milliseconds.
type latencyQuantiles struct{ p50, p90, p99, max float64 }

// quantiles sorts lat and returns its quantiles.
func quantiles(lat []time.Duration) latencyQuantiles {
	slices.Sort(lat)
	q := latencyQuantiles{p50: ms(percentile(lat, 0.50)), p90: ms(percentile(lat, 0.90)), p99: ms(percentile(lat, 0.99))}
	if n := len(lat); n > 0 {
		q.max = ms(lat[n-1])
	}
	return q
}

// rpcsPer returns the RPCs of all methods per view (0 without views).
func rpcsPer(rpcs map[string]int64, views int) float64 {
	var sum int64
	for _, n := range rpcs {
		sum += n
	}
	if views == 0 {
		return 0
	}
	return float64(sum) / float64(views)
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
