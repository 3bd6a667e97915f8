package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"cloud.google.com/go/compute/metadata"
	"cloud.google.com/go/firestore"
)

// emulatorProject is the project used on the Firestore emulator when none
// is given: the emulator accepts any id, and "demo-" ids are the ones that
// never reach a real project.
const emulatorProject = "demo-greeter"

// config is the greeter's configuration, from the environment and flags.
type config struct {
	port    int
	onCloud bool // on Cloud Run (K_SERVICE) or App Engine (GAE_SERVICE)
	secure  bool // the session cookie has the Secure attribute

	// firestore selects the Firestore store, of project (which may be
	// firestore.DetectProjectID); otherwise sessions are kept in memory.
	firestore    bool
	project      string
	projectGiven bool   // project is GOOGLE_CLOUD_PROJECT or -project
	database     string // FIRESTORE_DATABASE: a named database of the project; "" for its default
	emulator     string // FIRESTORE_EMULATOR_HOST, if set

	// adoptTutorial makes a new session take over the visitor's session
	// of the tutorial's app on the same database (see tutorial.go).
	adoptTutorial bool
}

const usage = `Usage: greeter [flags]

Serves the greeting page with sessions. Configuration comes from the
environment; each flag overrides the variable of the same meaning.

  PORT                     -port      port to listen on, on all interfaces (default 8080)
  GOOGLE_CLOUD_PROJECT     -project   keep sessions in this project's Firestore database
  FIRESTORE_EMULATOR_HOST             keep sessions in the Firestore emulator (project
                                      ` + emulatorProject + ` unless one is given)
  FIRESTORE_DATABASE                  the project's Firestore database to use, when it
                                      has several (default: its (default) database)
  K_SERVICE or GAE_SERVICE            on Cloud Run or App Engine: Firestore (project
                                      detected), Secure cookie, JSON logs
                           -secure    send the cookie with Secure (default on Google Cloud)
                           -insecure  send it without Secure (default elsewhere), for plain HTTP
  GREETER_ADOPT_TUTORIAL   -adopt-tutorial
                                      1: a new session takes over the visitor's session of
                                      the tutorial's Python app on the same database (its
                                      session_id cookie): greeting and count (needs Firestore)

Without any Firestore setting, sessions are kept in this process's memory.
OpenTelemetry's variables export the requests' spans and the sessions'
metrics: OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER (otlp, console or
none; unset: none), OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME and the
others of the OpenTelemetry SDK.
`

// parseConfig reads the configuration from args (flags) and getenv. The
// error is flag.ErrHelp for -h.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("greeter", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports errors in one line, and prints usage for -h
	port := fs.String("port", "", "")
	project := fs.String("project", "", "")
	secure := fs.Bool("secure", false, "")
	insecure := fs.Bool("insecure", false, "")
	adoptTutorial := fs.Bool("adopt-tutorial", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, fmt.Errorf("%v (greeter -h for usage)", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (greeter -h for usage)", fs.Arg(0))
	}

	var cfg config
	var err error
	if cfg.port, err = parsePort(*port, getenv("PORT")); err != nil {
		return config{}, err
	}

	cfg.onCloud = getenv("K_SERVICE") != "" || getenv("GAE_SERVICE") != ""
	switch {
	case *secure && *insecure:
		return config{}, errors.New("-secure and -insecure contradict each other")
	case *secure || *insecure:
		cfg.secure = *secure
	default:
		cfg.secure = cfg.onCloud
	}

	cfg.emulator = getenv("FIRESTORE_EMULATOR_HOST")
	if *project == "" {
		*project = getenv("GOOGLE_CLOUD_PROJECT")
	}
	switch {
	case *project != "":
		if !projectID.MatchString(*project) {
			return config{}, fmt.Errorf("invalid Google Cloud project id %q (GOOGLE_CLOUD_PROJECT or -project)", *project)
		}
		cfg.firestore, cfg.project, cfg.projectGiven = true, *project, true
	case cfg.emulator != "":
		cfg.firestore, cfg.project = true, emulatorProject
	case cfg.onCloud:
		// Cloud Run does not set GOOGLE_CLOUD_PROJECT; the client asks the
		// metadata server. Instances there must share their sessions.
		cfg.firestore, cfg.project = true, firestore.DetectProjectID
	}
	if db := getenv("FIRESTORE_DATABASE"); db != "" && db != firestore.DefaultDatabaseID {
		if !databaseID.MatchString(db) {
			return config{}, fmt.Errorf("invalid Firestore database id %q (FIRESTORE_DATABASE): want 4 to 63 lowercase letters, digits and hyphens, starting with a letter", db)
		}
		if !cfg.firestore {
			return config{}, errors.New("FIRESTORE_DATABASE needs Firestore: set GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST too")
		}
		cfg.database = db
	}
	if cfg.adoptTutorial, err = parseAdoptTutorial(fs, *adoptTutorial, getenv("GREETER_ADOPT_TUTORIAL")); err != nil {
		return config{}, err
	}
	if cfg.adoptTutorial && !cfg.firestore {
		return config{}, errors.New("GREETER_ADOPT_TUTORIAL (-adopt-tutorial) needs Firestore: set GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST too")
	}
	return cfg, nil
}

// parseAdoptTutorial returns the flag -adopt-tutorial if it was given, else
// GREETER_ADOPT_TUTORIAL (1, true, 0, false, ...; unset: false).
func parseAdoptTutorial(fs *flag.FlagSet, flagValue bool, envValue string) (bool, error) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "adopt-tutorial" })
	if given || envValue == "" {
		return flagValue, nil
	}
	on, err := strconv.ParseBool(envValue)
	if err != nil {
		return false, fmt.Errorf("invalid GREETER_ADOPT_TUTORIAL %q: want 1 or 0", envValue)
	}
	return on, nil
}

// parsePort returns the port given by the flag, else by the environment,
// else 8080.
func parsePort(flagValue, envValue string) (int, error) {
	name, s := "-port", flagValue
	if s == "" {
		name, s = "PORT", envValue
	}
	if s == "" {
		return 8080, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid %s %q: want a port number from 1 to 65535", name, s)
	}
	return p, nil
}

// projectID matches a Google Cloud project id: 6 to 30 lowercase letters,
// digits and hyphens, starting with a letter and not ending with a hyphen,
// optionally after a "domain:" prefix (older domain-scoped projects).
var projectID = regexp.MustCompile(`^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$`)

// databaseID matches a named Firestore database's id: 4 to 63 lowercase
// letters, digits and hyphens, starting with a letter and ending with a
// letter or digit.
var databaseID = regexp.MustCompile(`^[a-z][a-z0-9-]{2,61}[a-z0-9]$`)

// addr is the address to listen on: all interfaces.
func (c config) addr() string { return ":" + strconv.Itoa(c.port) }

// traceProject returns the project whose traces the log lines name on
// Google Cloud: the one configured, else the metadata server's (Cloud Run
// does not set GOOGLE_CLOUD_PROJECT). Off Google Cloud it is "".
func (c config) traceProject(ctx context.Context) (string, error) {
	switch {
	case !c.onCloud:
		return "", nil
	case c.projectGiven:
		return c.project, nil
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	p, err := metadata.ProjectIDWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("project from the metadata server: %w", err)
	}
	return p, nil
}

// storeName describes the session store for the logs.
func (c config) storeName() string {
	db := ""
	if c.database != "" {
		db = ", database " + c.database
	}
	switch {
	case !c.firestore:
		return "memory"
	case c.emulator != "":
		return "firestore emulator " + c.emulator + ", project " + c.project + db
	case c.project == firestore.DetectProjectID:
		return "firestore, project detected" + db
	default:
		return "firestore, project " + c.project + db
	}
}
