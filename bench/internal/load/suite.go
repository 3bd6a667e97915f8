package load

import (
	"context"
	"fmt"
	"github.com/firestore-sessions/sessions/internal/tcpproxy"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

// Config configures a suite: every scenario, each target in turn.
type Config struct {
	// Host is the emulator to use ("127.0.0.1:PORT"). Empty: the one named
	// by FIRESTORE_EMULATOR_HOST, or else one started (and stopped) by the
	// suite.
	Host string
	// Mode says how the apps run; "" is Binaries.
	Mode      Mode
	Scenarios []Scenario
	// Rounds is how many runs each target gets per scenario; the targets
	// alternate, A B B A A B ..., each round in the opposite order of the
	// previous one.
	Rounds int
	// Warmup is how long each target is loaded (16 clients, own sessions)
	// before the measured runs of each scenario, in alternating turns of
	// about 3 s; 0: no warm-up.
	Warmup time.Duration
	Run    RunOptions
	// Restart restarts the emulator before each scenario after the first,
	// when the suite started it; otherwise the targets' data is deleted.
	Restart bool
	// RTT is added to every round trip between the apps and Firestore by a
	// tcpproxy.Proxy in front of the emulator: what an app on App Engine or
	// Cloud Run pays to reach Firestore (0: loopback only).
	RTT time.Duration
	// Log receives one line per run; nil: none.
	Log io.Writer
}

// Suite is the outcome of a suite.
type Suite struct {
	Emulator string    `json:"emulator"` // emulator version, when known
	Mode     Mode      `json:"mode"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Results  []*Result `json:"results"`
}

// NewHTTPClient returns the load's HTTP client: keep-alive connections to
// loopback, enough for every client, no proxy.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// RunSuite starts the emulator (unless cfg.Host or FIRESTORE_EMULATOR_HOST
// names one), serves the greeter and the tutorial port, and runs every
// scenario: warm-up, then cfg.Rounds runs of each target, alternating.
// Everything it starts is stopped before it returns.
func RunSuite(ctx context.Context, cfg Config) (suite *Suite, err error) {
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	if cfg.Mode == "" {
		cfg.Mode = Binaries
	}
	suite = &Suite{Started: time.Now(), Emulator: EmulatorVersion(ctx), Mode: cfg.Mode}
	var bins map[string]string
	var dir string // of the binaries and their output
	if cfg.Mode == Binaries {
		if bins, dir, err = buildApps(ctx, logf); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	host, proc, err := useEmulator(ctx, cfg.Host, logf)
	if err != nil {
		return nil, err
	}
	defer stopEmulator(proc, &err)

	upstream := host
	if cfg.RTT > 0 {
		delay, err := tcpproxy.Start(host, cfg.RTT)
		if err != nil {
			return nil, err
		}
		defer delay.Close()
		upstream = delay.Addr
		logf("Firestore round trips cost %v more, through %s", cfg.RTT, delay.Addr)
	}
	var started []*app
	defer func() {
		for _, a := range started {
			a.close()
		}
	}()
	start := func(name string) (*app, error) {
		var a *app
		var err error
		if cfg.Mode == Binaries {
			a, err = startBinary(ctx, name, bins[name], dir, upstream, host)
		} else {
			a, err = startInProcess(ctx, name, upstream, host)
		}
		if err == nil {
			started = append(started, a)
		}
		return a, err
	}
	var apps []*app
	for _, name := range []string{Greeter, Tutorial} {
		a, err := start(name)
		if err != nil {
			return nil, err
		}
		apps = append(apps, a)
	}
	// A second greeter process on the same database, for the scenarios of
	// two instances; started when first needed.
	var second *app
	hc := NewHTTPClient()
	defer hc.CloseIdleConnections()

	for i, sc := range cfg.Scenarios {
		if i > 0 {
			if proc != nil && cfg.Restart {
				logf("restarting the emulator")
				if err := proc.Restart(ctx); err != nil {
					return nil, err
				}
			} else {
				for _, a := range apps {
					if err := resetProject(ctx, host, a.project); err != nil {
						logf("warning: %v", err)
					}
				}
			}
		}
		targets := apps
		if sc.Two {
			if second == nil {
				if second, err = start(Greeter); err != nil {
					return nil, err
				}
			}
			pair := *apps[0]
			pair.Also = &second.Target
			targets = []*app{&pair, second}
		}
		for _, a := range targets {
			if err := a.ready(ctx); err != nil {
				return nil, err
			}
		}
		if sc.Two {
			targets = targets[:1] // the pair; the tutorial port has no second instance
		}
		if cfg.Warmup > 0 {
			// The emulator's JIT keeps warming up for a minute or so of
			// load: warm it with both targets in short alternating turns.
			warm, _ := ScenarioNamed("spread")
			turns := max(1, int(cfg.Warmup/warmupTurn))
			for turn := 1; turn <= turns; turn++ {
				for _, a := range order(apps, turn) {
					r, err := Run(ctx, hc, &a.Target, warm, 0, RunOptions{Duration: cfg.Warmup / time.Duration(turns), Timeout: cfg.Run.Timeout})
					if err != nil {
						return nil, fmt.Errorf("warm-up: %w", err)
					}
					logf("%-7s warm-up %-8s %7.0f req/s", sc.Name, a.Name, r.ReqPerSec)
				}
			}
		}
		for round := 1; round <= max(cfg.Rounds, 1); round++ {
			for _, a := range order(targets, round) {
				r, err := Run(ctx, hc, &a.Target, sc, round, cfg.Run)
				if r != nil {
					r.RTTms = ms(cfg.RTT)
					suite.Results = append(suite.Results, r)
					logf("rtt %2.0f ms %-6s round %d %-8s %7.1f req/s  p50 %7.1f ms  p99 %7.1f ms  ok %6d  non-200 %4d  errors %3d  lost %d  dup %d  RPCs/view %.2f  CPU/view %s  RPC ms %s",
						r.RTTms, sc.Name, round, a.Name, r.ReqPerSec, r.P50ms, r.P99ms, r.OK, r.Non200, r.Errors, r.Lost, r.Duplicates, r.RPCsPerView, cpuText(r.AppCPUPerViewUs), fmtTimes(r.RPCMeanMs))
				}
				if err != nil {
					return nil, err
				}
			}
		}
	}
	suite.Finished = time.Now()
	return suite, nil
}

// buildApps builds the greeter and the tutorial port into a new temporary
// directory, which the caller removes, and returns their paths by target
// name.
func buildApps(ctx context.Context, logf func(string, ...any)) (bins map[string]string, dir string, err error) {
	if dir, err = os.MkdirTemp("", "bench-apps-"); err != nil {
		return nil, "", err
	}
	logf("building the greeter and the tutorial port")
	g, t, err := BuildBinaries(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return map[string]string{Greeter: g, Tutorial: t}, dir, nil
}

// useEmulator returns the emulator to use: host, else the one named by
// FIRESTORE_EMULATOR_HOST, else one it starts (proc, which the caller
// stops).
func useEmulator(ctx context.Context, host string, logf func(string, ...any)) (string, *emulator.Process, error) {
	if host == "" {
		host = os.Getenv(emulator.EnvHost)
	}
	if host != "" {
		return host, nil, nil
	}
	logf("starting the Firestore emulator")
	proc, err := emulator.Start(ctx, 0)
	if err != nil {
		return "", nil, err
	}
	return proc.Host(), proc, nil
}

// stopEmulator stops proc, if not nil, and sets *err to its failure unless
// *err holds one already.
func stopEmulator(proc *emulator.Process, err *error) {
	if proc == nil {
		return
	}
	if stopErr := proc.Stop(); stopErr != nil && *err == nil {
		*err = stopErr
	}
}

// warmupTurn is the length of one warm-up turn of one target.
const warmupTurn = 3 * time.Second

// order returns the apps in the order of round: as given in odd rounds,
// reversed in even ones (A B, B A, A B, ...), so that neither target always
// runs on the emulator the other has just warmed up further.
func order(apps []*app, round int) []*app {
	if round%2 == 1 {
		return apps
	}
	r := slices.Clone(apps)
	slices.Reverse(r)
	return r
}

// resetProject deletes every document of project, retrying while locks
// held by abandoned transactions make the emulator refuse (about a minute).
func resetProject(ctx context.Context, host, project string) error {
	deadline := time.Now().Add(75 * time.Second)
	for {
		err := emulator.Reset(ctx, host, project)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("resetting %s: %w", project, err)
			}
			return nil
		}
		time.Sleep(time.Second)
	}
}

var emulatorVersion = regexp.MustCompile(`cloud-firestore-emulator\s+(\S+)`)

// EmulatorVersion returns the version of the Firestore emulator component
// reported by `gcloud version`, or "" when it cannot be found.
func EmulatorVersion(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gcloud", "version").CombinedOutput()
	if err != nil && len(out) == 0 {
		return ""
	}
	if m := emulatorVersion.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
}

// Summary aggregates the runs of one target in one scenario at one round
// trip time.
type Summary struct {
	RTTms    float64 `json:"rtt_ms"`
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	Runs     int     `json:"runs"`
	// ReqPerSec is the median of the runs' req/s; Min and Max bound them.
	ReqPerSec    float64 `json:"req_per_sec"`
	ReqPerSecMin float64 `json:"req_per_sec_min"`
	ReqPerSecMax float64 `json:"req_per_sec_max"`
	// P50ms and P99ms are over the latencies of all runs.
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	OK          int     `json:"ok"`
	Non200      int     `json:"non200"`
	Errors      int     `json:"errors"`
	Lost        int     `json:"lost"`
	Unacked     int     `json:"unacked"`
	Duplicates  int     `json:"duplicates"`
	OutOfRange  int     `json:"out_of_range"`
	RPCsPerView float64 `json:"rpcs_per_view"`
	// AppCPUPerViewUs is the app process's CPU time per OK answer (0:
	// unknown).
	AppCPUPerViewUs float64            `json:"app_cpu_per_view_us,omitempty"`
	RPCs            map[string]float64 `json:"rpcs_by_method_per_view"`
}

// Correct reports whether every acknowledged view was stored once with a
// count of its own, and no request failed.
func (s *Summary) Correct() bool {
	return s.Lost == 0 && s.Duplicates == 0 && s.OutOfRange == 0
}

// Summarize aggregates results by round trip time, scenario and target, in
// the order they first appear.
func Summarize(results []*Result) []*Summary {
	var out []*Summary
	var lats [][]time.Duration
	rates := map[*Summary][]float64{}
	rpcs := map[*Summary]map[string]int64{}
	cpu := map[*Summary]float64{}
	for _, r := range results {
		i := slices.IndexFunc(out, func(s *Summary) bool {
			return s.RTTms == r.RTTms && s.Scenario == r.Scenario && s.Target == r.Target
		})
		if i < 0 {
			out = append(out, &Summary{RTTms: r.RTTms, Scenario: r.Scenario, Target: r.Target})
			lats = append(lats, nil)
			i = len(out) - 1
			rpcs[out[i]] = map[string]int64{}
		}
		s := out[i]
		s.Runs++
		s.OK += r.OK
		s.Non200 += r.Non200
		s.Errors += r.Errors
		s.Lost += r.Lost
		s.Unacked += r.Unacked
		s.Duplicates += r.Duplicates
		s.OutOfRange += r.OutOfRange
		rates[s] = append(rates[s], r.ReqPerSec)
		cpu[s] += r.AppCPUms
		lats[i] = append(lats[i], r.latencies...)
		for m, n := range r.RPCs {
			rpcs[s][m] += n
		}
	}
	for i, s := range out {
		rs := rates[s]
		slices.Sort(rs)
		s.ReqPerSec = median(rs)
		s.ReqPerSecMin, s.ReqPerSecMax = rs[0], rs[len(rs)-1]
		slices.Sort(lats[i])
		s.P50ms = ms(percentile(lats[i], 0.50))
		s.P99ms = ms(percentile(lats[i], 0.99))
		s.RPCs = map[string]float64{}
		var total int64
		for m, n := range rpcs[s] {
			total += n
			if s.OK > 0 {
				s.RPCs[m] = float64(n) / float64(s.OK)
			}
		}
		if s.OK > 0 {
			s.RPCsPerView = float64(total) / float64(s.OK)
			s.AppCPUPerViewUs = cpu[s] * 1000 / float64(s.OK)
		}
	}
	return out
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// AtRTT returns the summaries measured with round trip time rtt.
func AtRTT(sums []*Summary, rtt time.Duration) []*Summary {
	var out []*Summary
	for _, s := range sums {
		if s.RTTms == ms(rtt) {
			out = append(out, s)
		}
	}
	return out
}

// Find returns the summary of target in scenario, or nil.
func Find(sums []*Summary, scenario, target string) *Summary {
	for _, s := range sums {
		if s.Scenario == scenario && s.Target == target {
			return s
		}
	}
	return nil
}

// fmtTimes formats mean RPC times by method, in a fixed order.
func fmtTimes(m map[string]float64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func cpuText(us float64) string {
	if us == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f µs", us)
}
