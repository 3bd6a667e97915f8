package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/firestore"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// EnvHost is the environment variable through which the Firestore client
// library finds the emulator.
const EnvHost = "FIRESTORE_EMULATOR_HOST"

// state is what Main found out, for Require.
var state struct {
	sync.Mutex
	mainRan bool
	host    string   // emulator address, "" if none
	reason  string   // why there is none: one line
	err     error    // why there is none: in full
	proc    *Process // the emulator Main started, if it did
}

// Main is meant for TestMain: os.Exit(emulator.Main(m)).
//
// If FIRESTORE_EMULATOR_HOST is set, the tests use that emulator. Otherwise
// Main starts one on a free port (waiting at most a minute for it) and sets
// FIRESTORE_EMULATOR_HOST for the test binary. It then runs the tests, stops
// the emulator it started and returns m.Run's exit code (1 if the stop
// failed). An emulator that cannot be started does not stop the tests: the
// reason is printed once and kept for Require.
func Main(m *testing.M) int {
	state.Lock()
	state.mainRan = true
	if h := os.Getenv(EnvHost); h != "" {
		state.host = h
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		p, err := Start(ctx, 0)
		cancel()
		if err != nil {
			state.err = err
			state.reason = strings.TrimPrefix(firstLine(err.Error()), ErrUnavailable.Error()+": ")
			fmt.Fprintf(os.Stderr, "emulator: %v\n", err)
		} else {
			state.host, state.proc = p.Host(), p
			os.Setenv(EnvHost, p.Host())
		}
	}
	proc := state.proc
	state.Unlock()

	code := m.Run()

	if proc != nil {
		if err := proc.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "emulator: stopping: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		os.Unsetenv(EnvHost)
	}
	return code
}

// Started returns the emulator that Main started, or nil if Main used
// FIRESTORE_EMULATOR_HOST, could not start one or did not run. A test that
// kills or restarts it affects every test of the binary.
func Started() *Process {
	state.Lock()
	defer state.Unlock()
	return state.proc
}

// Require returns the address of the emulator for the test. If there is
// none, it skips the test with a one-line reason; under CI=true it fails the
// test instead, since a missing emulator there is a broken build.
//
// Without Main in TestMain, Require uses FIRESTORE_EMULATOR_HOST if set.
func Require(t testing.TB) string {
	t.Helper()
	state.Lock()
	host, reason, err, mainRan := state.host, state.reason, state.err, state.mainRan
	state.Unlock()
	if host == "" && !mainRan {
		host = os.Getenv(EnvHost)
		reason = "FIRESTORE_EMULATOR_HOST not set and emulator.Main not called from TestMain"
	}
	if host != "" {
		return host
	}
	if reason == "" {
		reason = "reason unknown"
	}
	const hint = "set FIRESTORE_EMULATOR_HOST or install the Cloud SDK emulator"
	if isCI() {
		if err == nil {
			err = fmt.Errorf("%s", reason)
		}
		t.Fatalf("firestore emulator unavailable under CI: %v\n%s", err, hint)
		return ""
	}
	t.Skipf("firestore emulator unavailable (%s); %s", reason, hint)
	return ""
}

// isCI reports whether CI is set to a true value ("true", "1", ...).
func isCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// NewClient returns a Firestore client for projectID connected to the
// emulator given by Require (it skips or fails the test the same way), and
// closes it when the test ends.
func NewClient(t testing.TB, projectID string) *firestore.Client {
	t.Helper()
	return NewClientAt(t, Require(t), projectID)
}

// NewClientAt returns a Firestore client for projectID connected, as the
// emulator's admin, to the emulator at host, and closes it when the test
// ends. Unlike a plain firestore.NewClient, it does not depend on
// FIRESTORE_EMULATOR_HOST, so it can reach a Process of the test's own.
//
// When FIRESTORE_EMULATOR_HOST is set to another address, the firestore
// library still makes an idle, lazy connection to that address, which is
// never used nor closed; that costs a few goroutines per client.
func NewClientAt(t testing.TB, host, projectID string) *firestore.Client {
	t.Helper()
	ctx := context.Background()
	var (
		client *firestore.Client
		conn   *grpc.ClientConn
		err    error
	)
	if os.Getenv(EnvHost) == host {
		client, err = firestore.NewClient(ctx, projectID)
	} else {
		conn, err = grpc.NewClient(host,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(ownerCreds{}),
			grpc.WithDefaultCallOptions(
				grpc.MaxCallRecvMsgSize(math.MaxInt32),
				grpc.MaxCallSendMsgSize(math.MaxInt32),
			),
		)
		if err == nil {
			client, err = firestore.NewClient(ctx, projectID, option.WithGRPCConn(conn))
			if err != nil {
				conn.Close()
			}
		}
	}
	if err != nil {
		t.Fatalf("emulator: firestore client for %s at %s: %v", projectID, host, err)
	}
	t.Cleanup(func() {
		client.Close()
		if conn != nil {
			conn.Close()
		}
	})
	return client
}

// ownerCreds makes gRPC calls as the emulator's admin, as the firestore
// library does for FIRESTORE_EMULATOR_HOST.
type ownerCreds struct{}

func (ownerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}

func (ownerCreds) RequireTransportSecurity() bool { return false }

// ProjectID returns a new project id for the test, unique across tests,
// -count and -shuffle, so that tests sharing an emulator do not see each
// other's data. It is a valid Google Cloud project id: "test-", up to 12
// characters of the test's name, a hyphen and 8 random hex digits (at most
// 26 characters of lowercase letters, digits and hyphens).
func ProjectID(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("emulator: random project id: %v", err)
	}
	var name strings.Builder
	dash := true // no leading hyphen, no doubled hyphens
	for _, r := range strings.TrimPrefix(strings.ToLower(t.Name()), "test") {
		if name.Len() == 12 {
			break
		}
		switch {
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			name.WriteRune(r)
			dash = false
		case !dash:
			name.WriteByte('-')
			dash = true
		}
	}
	id := "test-" + strings.TrimSuffix(name.String(), "-")
	if !strings.HasSuffix(id, "-") {
		id += "-"
	}
	return id + hex.EncodeToString(b[:])
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
