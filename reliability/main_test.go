package reliability

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
)

var (
	fullFlag   = flag.Bool("full", false, "run the full figures (minutes) instead of the short CI form")
	reportFlag = flag.String("report", "", "write the table of figures into `FILE` (markdown between the generated markers, or JSON for *.json)")
	raceFlag   = flag.Bool("greeter-race", false, "build the greeter with -race")
)

// deadline is the store deadline of every request: the greeter runs with
// the library's default Config.Timeout.
const deadline = 5 * time.Second // Config.Timeout's default

// margin is what a request may take beyond the deadline before it counts
// as hung: scheduling on a loaded 2-core machine, the HTTP round trip, and
// the greeter's own work. The client timeout of every load is
// deadline+margin.
const margin = 3 * time.Second

// params are the sizes of the loads: the full figures with -full, a
// shortened form otherwise (CI) that still runs every case.
type params struct {
	hotClients, ownClients int           // case 3: on the hot session, on their own sessions
	hotDuration            time.Duration // case 3: each load
	dieClients             int           // case 2
	dieWarm, dieDown       time.Duration // case 2: load before the kill, and while the store is down
	dieAfter               time.Duration // case 2: load after every client has recovered
	hangFor                time.Duration // case 2b: how long the store hangs
	downClients            int           // case 1: clients while the store is down
	downFor                time.Duration // case 1: how long they send requests before the store starts
	cancelRounds           int           // case 4: rounds of cancelled requests
	cancelPerRound         int           // case 4: cancelled requests per round
	shutdownClients        int           // case 5
	shutdownWarm           time.Duration // case 5: load before SIGTERM
	soakRequests           int           // case 7
	soakSessions           int           // case 7
	soakClients            int           // case 7
}

var short = params{
	hotClients: 64, ownClients: 64, hotDuration: 3 * time.Second,
	dieClients: 16, dieWarm: time.Second, dieDown: deadline + 2*time.Second, dieAfter: time.Second, hangFor: 10 * time.Second,
	downClients: 4, downFor: time.Second,
	cancelRounds:    5,
	cancelPerRound:  200,
	shutdownClients: 16, shutdownWarm: time.Second,
	soakRequests: 2000, soakSessions: 100, soakClients: 16,
}

var full = params{
	hotClients: 64, ownClients: 64, hotDuration: 10 * time.Second,
	dieClients: 16, dieWarm: 5 * time.Second, dieDown: 15 * time.Second, dieAfter: 10 * time.Second, hangFor: 20 * time.Second,
	downClients: 8, downFor: 30 * time.Second,
	cancelRounds:    10,
	cancelPerRound:  300,
	shutdownClients: 32, shutdownWarm: 3 * time.Second,
	soakRequests: 20000, soakSessions: 500, soakClients: 32,
}

// p returns the sizes for this run.
func p() params {
	if *fullFlag {
		return full
	}
	return short
}

// TestMain starts the emulator that the cases without a store fault share
// (each test in a project of its own), runs the tests, and writes the
// report.
func TestMain(m *testing.M) {
	flag.Parse()
	start := time.Now()
	code := emulator.Main(m)
	cleanupBuild()
	rep.print(os.Stdout, time.Since(start))
	if *reportFlag != "" {
		if err := rep.write(*reportFlag, time.Since(start)); err != nil {
			fmt.Fprintf(os.Stderr, "reliability: writing the report: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}
