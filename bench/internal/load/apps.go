package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/firestore-sessions/sessions"
	"github.com/firestore-sessions/sessions/bench/tutorial"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Mode selects how the apps under load run.
type Mode string

const (
	// Binaries runs the greeter binary (the library's cmd/greeter) and the
	// tutorial port's binary (bench/cmd/tutorial), each in its own process
	// and pointed at a proxy of its own that counts its Firestore RPCs.
	Binaries Mode = "binary"
	// InProcess serves both apps from this process (the greeter rebuilt
	// from the library, see GreeterHandler), each with a Firestore client
	// whose RPCs are counted by an interceptor.
	InProcess Mode = "inproc"
)

// Targets of the suite, in the order they alternate.
const (
	Greeter  = "greeter"
	Tutorial = "tutorial"
)

// GreeterViews is the greeter's Uncounted route, /views, as a target of the
// fleet: the greeter's instances, requests that read the session without
// counting a view.
const GreeterViews = "greeter /views"

// app is one target under load, with what the runner needs around it.
type app struct {
	Target
	project string
	docID   func(sessionID string) string // the name of a session's document
	verify  *firestore.Client             // straight to the emulator, not counted
	probe   *firestore.Client             // along the app's own path to the emulator
	counter *RPCCounter                   // the app's RPCs
	closers []func()
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// finish completes a with the views reader over verify.
func (a *app) finish(name string, counter *RPCCounter) {
	a.Name = name
	a.counter = counter
	a.RPCs = counter.Snapshot
	a.RPCTimes = counter.Times
	sessions := a.verify.Collection("sessions")
	a.StoredViews = func(ctx context.Context, id string) (int64, error) {
		snap, err := sessions.Doc(a.docID(id)).Get(ctx)
		if err != nil {
			return 0, err
		}
		v, ok := snap.Data()["views"].(int64)
		if !ok {
			return 0, fmt.Errorf("session %s: no integer views field", id)
		}
		return v, nil
	}
}

// newApp returns the app called name, with Firestore project
// "bench-"+name, and its document naming.
func newApp(name string) *app {
	a := &app{project: "bench-" + name, docID: func(id string) string { return id }}
	if name == Greeter {
		a.docID = sessions.Handle // the library names documents so
	}
	return a
}

// startInProcess serves the target called name from this process, on a
// loopback port, its Firestore calls going to upstream (the emulator at
// host, or a proxy in front of it).
func startInProcess(ctx context.Context, name, upstream, host string) (_ *app, err error) {
	a := newApp(name)
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	counter := &RPCCounter{}
	client, conn, err := Dial(ctx, upstream, a.project, counter)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { client.Close() })
	a.probe = client
	if a.verify, _, err = Dial(ctx, host, a.project, nil); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { a.verify.Close() })
	var h http.Handler
	switch name {
	case Greeter:
		// The greeter's store shares the counted connection.
		store, err := sessions.OpenFirestore(ctx, a.project, sessions.FirestoreConfig{}, option.WithGRPCConn(conn))
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, func() { store.Close() })
		if h, err = GreeterHandler(store); err != nil {
			return nil, err
		}
	case Tutorial:
		h = tutorial.Handler(client)
	default:
		return nil, fmt.Errorf("unknown target %q", name)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Shutdown
	a.closers = append(a.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	a.URL = "http://" + l.Addr().String() + "/"
	a.finish(name, counter)
	return a, nil
}

// startBinary runs the app binary bin as the target called name, on a
// loopback port, with Firestore project "bench-"+name, reached through a
// counting proxy to upstream (the emulator at host, or a proxy in front of
// it); its output goes to files in dir.
func startBinary(ctx context.Context, name, bin, dir, upstream, host string) (_ *app, err error) {
	a := newApp(name)
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	counter := &RPCCounter{}
	proxy, err := StartProxy(upstream, counter)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, proxy.Close)
	if a.verify, _, err = Dial(ctx, host, a.project, nil); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { a.verify.Close() })
	if a.probe, _, err = Dial(ctx, proxy.Addr, a.project, nil); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { a.probe.Close() })

	p, err := greeterdrive.Start(greeterdrive.Config{Bin: bin, Dir: dir, Emulator: proxy.Addr, Project: a.project, Inherit: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a.closers = append(a.closers, func() { _, _ = p.Stop(10 * time.Second) })
	a.URL = p.URL + "/"
	if _, err := processCPU(p.Pid()); err == nil {
		a.CPU = func() (time.Duration, error) { return processCPU(p.Pid()) }
	}
	if err := p.WaitListening(30 * time.Second); err != nil {
		return nil, fmt.Errorf("%s (%s): %w\n--- its output ---\n%s", name, bin, err, p.Output())
	}
	a.finish(name, counter)
	return a, nil
}

// ready waits until the app's path to the emulator answers (after an
// emulator restart, connections reconnect).
func (a *app) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := a.probe.Collection("probe").Doc("probe").Get(ctx)
		if err == nil || status.Code(err) == codes.NotFound {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: emulator not answering: %w", a.Name, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// BuildBinaries builds the greeter (in the library's module, as its users
// build it) and the tutorial port into dir.
func BuildBinaries(ctx context.Context, dir string) (greeter, tut string, err error) {
	if greeter, err = greeterdrive.Build(ctx, dir, false); err != nil {
		return "", "", err
	}
	tut = filepath.Join(dir, "tutorial")
	args := []string{"build", "-o", tut, "github.com/firestore-sessions/sessions/bench/cmd/tutorial"}
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return greeter, tut, nil
}
