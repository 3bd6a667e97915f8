package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

// Case 5: SIGTERM to the greeter under load. The requests in flight
// complete with 200, the process exits 0 within its shutdown timeout, and
// the stored counts equal the successful responses exactly.
//
// To have requests certainly in flight at SIGTERM, the test freezes the
// store (SIGSTOP to the emulator's process group) just before it, and
// thaws it once the greeter has begun shutting down: every client's request
// is then inside the greeter, waiting for the store. A request whose
// headers are still arriving at SIGTERM is, by net/http's design, not
// served (the connection is closed without an answer): it must then not be
// counted either.
func TestGracefulShutdown(t *testing.T) {
	x := rep.row(t, "5. Graceful shutdown", "greeter binary")
	proc := startEmulatorAt(t, 0)
	host, project := proc.Host(), emulator.ProjectID(t)
	store := newFreezer(t, proc)
	g := runGreeter(t, host, project)
	client := newClient(1)
	defer client.CloseIdleConnections()
	hotCreated := visit(context.Background(), client, g.URL, "")
	slowCreated := visit(context.Background(), client, g.URL, "")
	if hotCreated.Status != http.StatusOK || slowCreated.Status != http.StatusOK {
		t.Fatalf("making sessions: %v; %v", hotCreated, slowCreated)
	}
	hot, slow := hotCreated.Got, slowCreated.Got

	// A request whose headers end after SIGTERM.
	conn, err := net.DialTimeout("tcp", g.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+g.Addr+"\r\nCookie: "+cookieName+"="+slow+"\r\n"); err != nil {
		t.Fatal(err)
	}

	n := p().shutdownClients
	l := startLoad(g.URL, append(workers(n, ""), workers(n/2, hot)...), true)
	time.Sleep(p().shutdownWarm) // load duration
	if err := store.freeze(); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	// The load goes on against the frozen store for a moment: the clients'
	// requests reach the greeter and wait there for the store (a request
	// takes milliseconds when the store answers).
	time.Sleep(200 * time.Millisecond) // load duration
	sigterm := time.Now()
	g.terminate(t)
	if err := poll(5*time.Second, 5*time.Millisecond, func() (bool, error) {
		return strings.Contains(g.Stdout(), "shutting down"), nil
	}); err != nil {
		t.Fatalf("no shutdown log line after SIGTERM: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(deadline + margin))
	slowResult := result{Sent: slow, Start: sigterm}
	if _, err := io.WriteString(conn, "\r\n"); err != nil {
		slowResult.Err = err
	} else if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil {
		slowResult.Err = err
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slowResult.Status, slowResult.Body = resp.StatusCode, string(b)
		for _, c := range resp.Cookies() {
			if c.Name == cookieName {
				slowResult.Got = c.Value
			}
		}
		slowResult.Views, slowResult.Greeting, _ = greeterdrive.ParsePage(slowResult.Body) // 0 views unless a page
	}
	slowResult.End = time.Now()
	if err := store.thaw(); err != nil {
		t.Fatal(err)
	}
	thawed := time.Now()
	t.Logf("store frozen for %v; SIGTERM %v after the freeze", thawed.Sub(frozen).Round(time.Millisecond), sigterm.Sub(frozen).Round(time.Millisecond))

	code := g.Wait(greeterShutdownTimeout + margin)
	exited := time.Since(sigterm)
	results := l.finish()
	if code != 0 {
		t.Errorf("exit code %d %v after SIGTERM; want 0 within the shutdown timeout %v", code, exited.Round(time.Millisecond), greeterShutdownTimeout)
	}
	t.Logf("exited %v after SIGTERM, code %d", exited.Round(time.Millisecond), code)

	// Every request that got an answer got a 200; the others never reached
	// the greeter, which had stopped listening.
	var answered []result
	refused, inFlight := 0, 0
	for _, r := range results {
		switch {
		case r.Status != 0:
			answered = append(answered, r)
			if r.Start.Before(sigterm) && r.End.After(sigterm) {
				inFlight++
			}
		case r.End.Before(sigterm):
			answered = append(answered, r) // a failure before SIGTERM
		default:
			refused++
		}
	}
	answered = append(answered, hotCreated, slowCreated)
	slowServed := slowResult.Status != 0
	if slowServed {
		answered = append(answered, slowResult)
	}
	tl := count(answered)
	t.Logf("%v; %d in flight at SIGTERM; %d not served after SIGTERM (connection refused or closed); request with headers ending after SIGTERM: %v", tl, inFlight, refused, slowResult)
	if tl.failed() > 0 {
		t.Errorf("%v; want a 200 for every request answered; for example:\n%s", tl, joinLines(tl.examples))
	}
	if inFlight == 0 {
		t.Errorf("no request in flight at SIGTERM with the store frozen: the test did not test")
	}
	if slowServed && (slowResult.Status != http.StatusOK || slowResult.Views != 2) {
		t.Errorf("request with headers ending after SIGTERM: %v; want no answer, or 200 and 2 views", slowResult)
	}
	lost, unack := checkViews(t, host, project, tl, false)
	g.checkNoPanic(t)

	x.set(tl)
	x.update(func(x *row) {
		x.Lost = fmt.Sprint(lost)
		x.Notes = fmt.Sprintf("%d + %d clients (own sessions + hot); store frozen (SIGSTOP) around SIGTERM: %d requests in flight, all 200 after the thaw; %d refused after SIGTERM; exit %d after %v (timeout %v); stored = 200s exactly (%d unacknowledged)",
			n, n/2, inFlight, refused, code, exited.Round(10*time.Millisecond), greeterShutdownTimeout, unack)
	})
}
