// Command load runs the end-to-end load benchmark: against the Firestore
// emulator (started here unless FIRESTORE_EMULATOR_HOST names one), it
// serves the greeter (this library's middleware and Firestore store) and a
// port of Google's Flask sessions tutorial (one RunTransaction per request),
// and loads them in turn (A B A B ...): 1 client sequential, 16 clients
// with their own sessions, 16 clients sharing one session, the same on two
// greeter processes, and the first view of a session on a greeter process
// that has not seen it. It prints req/s, latency, errors, lost increments,
// duplicate counts and Firestore RPCs per view.
//
//	go run ./cmd/load              # full: 3 rounds of 8 s per target and scenario
//	go run ./cmd/load -rtt 10ms    # with 10 ms added to every Firestore round trip
//	go run ./cmd/load -quick       # 1 round of 1 s, no warm-up: a smoke test
//	go run ./cmd/load -fleet 1,2,3,4 -rtt 10ms -sample   # N instances of each app, requests to random instances
//
// With -quick it exits non-zero when a view was lost or counted twice, or
// when the greeter answered anything but 200.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firestore-sessions/sessions/bench/internal/load"
)

func main() {
	quick := flag.Bool("quick", false, "smoke test: 1 round of 1 s per target and scenario, no warm-up, correctness checked")
	duration := flag.Duration("duration", 8*time.Second, "length of one run")
	rounds := flag.Int("rounds", 3, "runs per target and scenario")
	warmup := flag.Duration("warmup", 3*time.Second, "warm-up per target before each scenario")
	maxReq := flag.Int("max-requests", 50000, "requests per run at most")
	scenarios := flag.String("scenarios", "seq,spread,hot,hot2,miss", "comma-separated scenarios: seq, spread, hot, hot2, miss")
	rtt := flag.Duration("rtt", 0, "round trip time added to every Firestore call by a delay proxy in front of the emulator")
	jsonOut := flag.String("json", "", "write the results as JSON to this file")
	fleet := flag.String("fleet", "", "run the fleet scenario instead, with these comma-separated numbers of instances (e.g. 1,2,3,4): 16 visitors, each request to a random instance")
	visitors := flag.Int("visitors", 16, "visitors of the fleet scenario")
	emuGroup := flag.Int("emulator-group", 0, "fleet scenario: process group of the emulator named by FIRESTORE_EMULATOR_HOST, to measure its CPU time")
	sample := flag.Bool("sample", false, "fleet scenario: report percentiles of each RPC method's duration")
	mode := flag.String("mode", string(load.Binaries), "how the apps run: binary (the greeter and tutorial binaries, RPCs counted by a proxy) or inproc (both handlers in this process, RPCs counted by an interceptor)")
	flag.Parse()

	cfg := load.Config{
		Mode:    load.Mode(*mode),
		Rounds:  *rounds,
		Warmup:  *warmup,
		Run:     load.RunOptions{Duration: *duration, MaxRequests: *maxReq},
		Restart: true,
		RTT:     *rtt,
		Log:     os.Stderr,
	}
	if *quick {
		cfg.Rounds, cfg.Warmup, cfg.Run.Duration, cfg.Restart = 1, 0, time.Second, false
	}
	if cfg.Mode != load.Binaries && cfg.Mode != load.InProcess {
		fmt.Fprintf(os.Stderr, "load: unknown -mode %q\n", *mode)
		os.Exit(2)
	}
	for _, name := range strings.Split(*scenarios, ",") {
		sc, ok := load.ScenarioNamed(strings.TrimSpace(name))
		if !ok {
			fmt.Fprintf(os.Stderr, "load: unknown scenario %q\n", name)
			os.Exit(2)
		}
		cfg.Scenarios = append(cfg.Scenarios, sc)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *fleet != "" {
		os.Exit(runFleet(ctx, *fleet, *visitors, *rtt, *rounds, *warmup, load.RunOptions{Duration: *duration, MaxRequests: *maxReq}, *sample, *quick, *jsonOut, *emuGroup))
	}
	suite, err := load.RunSuite(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		os.Exit(1)
	}
	sums := load.Summarize(suite.Results)
	Print(os.Stdout, sums)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(struct {
			*load.Suite
			Summaries []*load.Summary `json:"summaries"`
		}{suite, sums}, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "load: %v\n", err)
			os.Exit(1)
		}
	}
	if *quick {
		failed := false
		for _, s := range sums {
			if !s.Correct() || (s.Target == load.Greeter && (s.Non200 > 0 || s.Errors > 0)) || s.OK == 0 {
				fmt.Fprintf(os.Stderr, "load: %s %s: ok %d, non-200 %d, errors %d, lost %d, duplicates %d, out of range %d\n",
					s.Scenario, s.Target, s.OK, s.Non200, s.Errors, s.Lost, s.Duplicates, s.OutOfRange)
				failed = true
			}
		}
		if failed {
			os.Exit(1)
		}
	}
}

// Print writes the summaries as an aligned table.
func Print(w *os.File, sums []*load.Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rtt ms\tscenario\ttarget\truns\treq/s\tp50 ms\tp99 ms\tok\tnon-200\terrors\tlost\tdup\tRPCs/view\tCPU µs/view\t")
	for _, s := range sums {
		fmt.Fprintf(tw, "%.0f\t%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.0f\t\n",
			s.RTTms, s.Scenario, s.Target, s.Runs, s.ReqPerSec, s.P50ms, s.P99ms, s.OK, s.Non200, s.Errors, s.Lost, s.Duplicates, s.RPCsPerView, s.AppCPUPerViewUs)
	}
	tw.Flush()
}

// runFleet runs the fleet scenario and prints its results; it returns the
// exit code.
func runFleet(ctx context.Context, sizes string, visitors int, rtt time.Duration, rounds int, warmup time.Duration, run load.RunOptions, sample, quick bool, jsonOut string, emuGroup int) int {
	cfg := load.FleetConfig{EmulatorGroup: emuGroup, Visitors: visitors, RTTs: []time.Duration{rtt}, Run: run, Rounds: rounds, Warmup: warmup, Sample: sample, Log: os.Stderr}
	for _, v := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "load: -fleet: bad number of instances %q\n", v)
			return 2
		}
		cfg.Instances = append(cfg.Instances, n)
	}
	if quick {
		cfg.Rounds, cfg.Warmup, cfg.Run.Duration = 1, 0, time.Second
	}
	results, err := load.RunFleet(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "load: %v\n", err)
		return 1
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "load: %v\n", err)
			return 1
		}
	}
	for _, r := range results {
		if r.Wrong > 0 || r.Views == 0 || ((r.Target == load.Greeter || r.Target == load.GreeterViews) && (r.Non200 > 0 || r.Errors > 0)) {
			fmt.Fprintf(os.Stderr, "load: fleet %d %s: views %d, wrong %d, non-200 %d, errors %d\n", r.Instances, r.Target, r.Views, r.Wrong, r.Non200, r.Errors)
			return 1
		}
	}
	return 0
}
