// Command report runs every benchmark of the library and writes
// BENCHMARKS.md at the repository root, with bench/chart.svg and the raw
// results in bench/results/. Run it from the bench directory:
//
//	cd bench && go run ./cmd/report
//
// It runs the micro-benchmarks (10 interleaved rounds, summarised by
// benchstat), an allocation profile of the middleware, and the load suite
// of cmd/load against a Firestore emulator it starts itself, on the bare
// emulator and with 10 ms added to every round trip, and the fleet part (N
// instances of each app, requests to random instances, and what a million
// views cost); about twenty minutes on two cores. -quick runs everything
// once, briefly, to check the pipeline; -scenarios fleet runs the fleet part
// alone, the rest of the report read from the last results.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firestore-sessions/sessions/bench/internal/load"
)

type options struct {
	quick     bool
	count     int
	benchtime string
	rounds    int
	duration  time.Duration
	warmup    time.Duration
	out       string
	chart     string
	results   string
	reuse     bool
	mode      string
	rtts      []time.Duration
	// scenarios selects the parts that run: micro, load, fleet; the others
	// are read from the results of the last run.
	scenarios map[string]bool
	fleet     fleetOptions
}

// fleetOptions configure the fleet part.
type fleetOptions struct {
	rtts     []time.Duration
	sizes    []int
	duration time.Duration
	rounds   int
	warmup   time.Duration
	chart    string
	// viewsPerSession is the visit length the costs assume.
	viewsPerSession int
}

// parts are the parts of a report, in the order they run.
var parts = []string{"micro", "load", "fleet"}

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "run everything once, briefly (checks the pipeline; figures meaningless)")
	flag.IntVar(&o.count, "count", 10, "micro-benchmark repetitions")
	flag.StringVar(&o.benchtime, "benchtime", "1s", "micro-benchmark -benchtime")
	flag.IntVar(&o.rounds, "rounds", 4, "load runs per target and scenario")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one load run")
	flag.DurationVar(&o.warmup, "warmup", 9*time.Second, "warm-up per target before each scenario")
	rtts := flag.String("rtt", "0,10ms", "comma-separated round trip times added to every Firestore call, one load suite each")
	flag.StringVar(&o.out, "out", "../BENCHMARKS.md", "report to write")
	flag.StringVar(&o.chart, "chart", "chart.svg", "chart to write (linked from the report)")
	flag.StringVar(&o.results, "results", "results", "directory for the raw results")
	flag.StringVar(&o.mode, "mode", string(load.Binaries), "how the load runner runs the apps: binary or inproc (see go run ./cmd/load -h)")
	flag.BoolVar(&o.reuse, "reuse", false, "rewrite the report from the raw results of the last run (re-running only the allocation profile)")
	scenarios := flag.String("scenarios", strings.Join(parts, ","), "comma-separated parts to run: micro, load, fleet; the others are read from the results of the last run (-scenarios fleet runs the fleet part alone, in a few minutes)")
	sizes := flag.String("fleet-instances", "1,2,3,4", "fleet part: comma-separated numbers of instances of each app")
	fleetRTTs := flag.String("fleet-rtt", "0,2ms,10ms", "fleet part: comma-separated round trip times, one fleet each")
	flag.DurationVar(&o.fleet.duration, "fleet-duration", 5*time.Second, "fleet part: length of one run")
	flag.IntVar(&o.fleet.rounds, "fleet-rounds", 2, "fleet part: runs per app and number of instances")
	flag.DurationVar(&o.fleet.warmup, "fleet-warmup", 6*time.Second, "fleet part: warm-up per app at each round trip time")
	flag.StringVar(&o.fleet.chart, "fleet-chart", "fleet.svg", "fleet chart to write (linked from the report)")
	flag.IntVar(&o.fleet.viewsPerSession, "views-per-session", 10, "visit length the cost estimate assumes (views per session)")
	flag.Parse()
	o.scenarios = map[string]bool{}
	for _, v := range strings.Split(*scenarios, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(parts, v) {
			fmt.Fprintf(os.Stderr, "report: -scenarios: unknown part %q (want micro, load, fleet)\n", v)
			os.Exit(2)
		}
		o.scenarios[v] = !o.reuse
	}
	for _, v := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "report: -fleet-instances: bad number %q\n", v)
			os.Exit(2)
		}
		o.fleet.sizes = append(o.fleet.sizes, n)
	}
	o.rtts = parseRTTs("-rtt", *rtts)
	o.fleet.rtts = parseRTTs("-fleet-rtt", *fleetRTTs)
	if o.quick {
		o.count, o.benchtime, o.rounds, o.duration, o.warmup = 1, "100x", 1, time.Second, 0
		o.fleet.duration, o.fleet.rounds, o.fleet.warmup = time.Second, 1, 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "report: %v\n", err)
		os.Exit(1)
	}
}

// data is everything the report is written from.
type data struct {
	Machine     machine
	MicroRaw    []byte
	Benchstat   []byte
	Micro       micro
	Allocs      map[string][]allocSite // by visitor
	AllocTotals map[string]float64
	Suite       *load.Suite
	Summaries   []*load.Summary
	Config      load.Config
	Took        time.Duration
	// Fleet holds the fleet part's runs and summaries (nil: none).
	Fleet *fleetFile
}

// fleetFile is results/fleet.json.
type fleetFile struct {
	Started   time.Time            `json:"started"`
	Results   []*load.FleetResult  `json:"results"`
	Summaries []*load.FleetSummary `json:"summaries"`
	Config    struct {
		Visitors  int     `json:"visitors"`
		Instances []int   `json:"instances"`
		Rounds    int     `json:"rounds"`
		Duration  float64 `json:"duration_s"`
		Warmup    float64 `json:"warmup_s"`
	} `json:"config"`
}

type loadFile struct {
	Suite     *load.Suite     `json:"suite"`
	Summaries []*load.Summary `json:"summaries"`
	Config    struct {
		Rounds   int     `json:"rounds"`
		Duration float64 `json:"duration_s"`
		Warmup   float64 `json:"warmup_s"`
	} `json:"config"`
	// TookSeconds is the time the whole report took, micro-benchmarks
	// included.
	TookSeconds float64 `json:"took_s"`
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	if b, err := os.ReadFile("go.mod"); err != nil || !bytes.HasPrefix(b, []byte("module github.com/firestore-sessions/sessions/bench\n")) {
		return errors.New("run from the bench directory: cd bench && go run ./cmd/report")
	}
	if err := os.MkdirAll(o.results, 0o755); err != nil {
		return err
	}
	d := &data{Allocs: map[string][]allocSite{}, AllocTotals: map[string]float64{}}
	microPath := filepath.Join(o.results, "micro.txt")
	loadPath := filepath.Join(o.results, "load.json")
	d.Config = load.Config{
		Mode:      load.Mode(o.mode),
		Scenarios: load.Scenarios,
		Rounds:    o.rounds,
		Warmup:    o.warmup,
		Run:       load.RunOptions{Duration: o.duration, MaxRequests: 100000},
		Restart:   true,
		Log:       os.Stderr,
	}
	if o.quick {
		d.Config.Restart = false
	}

	d.Machine = describeMachine(ctx)
	var err error
	if !o.scenarios["micro"] {
		if d.MicroRaw, err = os.ReadFile(microPath); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(os.Stderr, "micro-benchmarks: %d rounds, -benchtime=%s\n", o.count, o.benchtime)
		if d.MicroRaw, err = runMicro(o.count, o.benchtime); err != nil {
			return err
		}
		if err := os.WriteFile(microPath, d.MicroRaw, 0o644); err != nil {
			return err
		}
	}
	if d.Micro, err = parseMicro(d.MicroRaw); err != nil {
		return err
	}
	if d.Benchstat, err = goCmd("tool", "benchstat", "-col", "/lib", microPath); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "allocation profiles")
	ops := 20000
	if o.quick {
		ops = 200
	}
	for _, v := range []string{"returning", "new"} {
		if d.Allocs[v], d.AllocTotals[v], err = allocProfile(os.TempDir(), v, ops); err != nil {
			return err
		}
	}

	if !o.scenarios["load"] {
		b, err := os.ReadFile(loadPath)
		if err != nil {
			return err
		}
		var lf loadFile
		if err := json.Unmarshal(b, &lf); err != nil {
			return err
		}
		d.Suite, d.Summaries = lf.Suite, lf.Summaries
		d.Config.Rounds = lf.Config.Rounds
		d.Config.Run.Duration = time.Duration(lf.Config.Duration * float64(time.Second))
		d.Config.Warmup = time.Duration(lf.Config.Warmup * float64(time.Second))
		d.Took = time.Duration(lf.TookSeconds * float64(time.Second))
	} else {
		fmt.Fprintf(os.Stderr, "load: %d rounds of %v per target and scenario, warm-up %v, round trips %v\n", o.rounds, o.duration, o.warmup, o.rtts)
		for _, rtt := range o.rtts {
			cfg := d.Config
			cfg.RTT = rtt
			s, err := load.RunSuite(ctx, cfg)
			if err != nil {
				return err
			}
			if d.Suite == nil {
				d.Suite = s
			} else {
				d.Suite.Results = append(d.Suite.Results, s.Results...)
				d.Suite.Finished = s.Finished
			}
		}
		d.Summaries = load.Summarize(d.Suite.Results)
		lf := loadFile{Suite: d.Suite, Summaries: d.Summaries}
		lf.Config.Rounds = o.rounds
		lf.Config.Duration = o.duration.Seconds()
		lf.Config.Warmup = o.warmup.Seconds()
		d.Took = time.Since(start)
		lf.TookSeconds = d.Took.Seconds()
		b, _ := json.MarshalIndent(lf, "", "  ")
		if err := os.WriteFile(loadPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if d.Suite.Emulator != "" {
		d.Machine.Emulator = d.Suite.Emulator
	}
	if d.Fleet, err = fleetPart(ctx, o); err != nil {
		return err
	}
	if d.Fleet != nil {
		if err := os.WriteFile(o.fleet.chart, []byte(fleetChartSVG(d.Fleet.Summaries, rtt10)), 0o644); err != nil {
			return err
		}
	}

	chartSums := load.AtRTT(d.Summaries, rtt10)
	if len(chartSums) == 0 {
		chartSums = d.Summaries
	}
	svg := chartSVG(chartSums, load.Scenarios, []string{load.Greeter, load.Tutorial})
	if err := os.WriteFile(o.chart, []byte(svg), 0o644); err != nil {
		return err
	}
	md := writeReport(d, o)
	if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s, %s and %s/ in %v\n", o.out, o.chart, o.results, time.Since(start).Round(time.Second))
	for _, l := range targetLines(d) {
		fmt.Println(l)
	}
	return nil
}

// fleetPart runs the fleet part, or reads its results of the last run
// (nil when there are none), and returns them.
func fleetPart(ctx context.Context, o options) (*fleetFile, error) {
	path := filepath.Join(o.results, "fleet.json")
	if !o.scenarios["fleet"] {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var f fleetFile
		return &f, json.Unmarshal(b, &f)
	}
	cfg := load.FleetConfig{
		Instances: o.fleet.sizes,
		Visitors:  16,
		RTTs:      o.fleet.rtts,
		Run:       load.RunOptions{Duration: o.fleet.duration, MaxRequests: 100000},
		Rounds:    o.fleet.rounds,
		Warmup:    o.fleet.warmup,
		Log:       os.Stderr,
	}
	fmt.Fprintf(os.Stderr, "fleet: %v instances, %d visitors, %d rounds of %v, warm-up %v, round trips %v\n", cfg.Instances, cfg.Visitors, cfg.Rounds, o.fleet.duration, cfg.Warmup, cfg.RTTs)
	f := &fleetFile{Started: time.Now()}
	var err error
	if f.Results, err = load.RunFleet(ctx, cfg); err != nil {
		return nil, err
	}
	f.Summaries = load.SummarizeFleet(f.Results)
	f.Config.Visitors, f.Config.Instances, f.Config.Rounds = cfg.Visitors, cfg.Instances, cfg.Rounds
	f.Config.Duration, f.Config.Warmup = o.fleet.duration.Seconds(), o.fleet.warmup.Seconds()
	b, _ := json.MarshalIndent(f, "", "  ")
	return f, os.WriteFile(path, append(b, '\n'), 0o644)
}

// machine describes where the figures were measured.
type machine struct {
	CPU, NProc, OS, Go, Emulator, SDK string
}

func describeMachine(ctx context.Context) machine {
	m := machine{
		NProc: output(ctx, "nproc"),
		OS:    runtime.GOOS + "/" + runtime.GOARCH + ", kernel " + output(ctx, "uname", "-r"),
		Go:    output(ctx, "go", "version"),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if m.NProc == "" {
		m.NProc = fmt.Sprint(runtime.NumCPU())
	}
	ver := output(ctx, "gcloud", "version")
	for _, l := range strings.Split(ver, "\n") {
		switch {
		case strings.HasPrefix(l, "Google Cloud SDK"):
			m.SDK = strings.TrimSpace(l)
		case strings.HasPrefix(l, "cloud-firestore-emulator"):
			m.Emulator = strings.TrimSpace(strings.TrimPrefix(l, "cloud-firestore-emulator"))
		}
	}
	return m
}

// output runs a command and returns its trimmed output, or "" on failure.
func output(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// parseRTTs parses the comma-separated durations of flag name, or exits.
func parseRTTs(name, list string) []time.Duration {
	var out []time.Duration
	for _, v := range strings.Split(list, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			fmt.Fprintf(os.Stderr, "report: %s: %v\n", name, err)
			os.Exit(2)
		}
		out = append(out, d)
	}
	return out
}
