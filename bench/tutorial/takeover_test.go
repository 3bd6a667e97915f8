package tutorial_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/firestore-sessions/sessions/bench/tutorial"
	"github.com/firestore-sessions/sessions/internal/emulator"
	"github.com/firestore-sessions/sessions/internal/greeterdrive"
)

func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }

// A visitor of the tutorial's app keeps their greeting and count when the
// greeter, with GREETER_ADOPT_TUTORIAL=1, replaces it on the same
// database: after the tutorial's views 1 and 2, the greeter answers view 3
// with the same greeting and its own cookie, and view 4 with that cookie.
func TestGreeterTakesOverTutorialVisitor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the greeter")
	}
	host := emulator.Require(t)
	project := emulator.ProjectID(t)
	app := httptest.NewServer(tutorial.Handler(emulator.NewClient(t, project)))
	defer app.Close()

	ctx := context.Background()
	hc := &http.Client{Timeout: 30 * time.Second}
	first := greeterdrive.Visit(ctx, hc, app.URL+"/", "")
	second := greeterdrive.Visit(ctx, hc, app.URL+"/", first.Got)
	if !first.OK() || !second.OK() || first.Views != 1 || second.Views != 2 || second.Greeting != first.Greeting || second.Got != first.Got {
		t.Fatalf("the tutorial's app: %v, then %v; want views 1 and 2 of one session", first, second)
	}

	dir := t.TempDir()
	bin, err := greeterdrive.Build(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := greeterdrive.Start(greeterdrive.Config{Bin: bin, Dir: dir, Emulator: host, Project: project, Env: []string{"GREETER_ADOPT_TUTORIAL=1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if code, err := p.Stop(15 * time.Second); err != nil || code != 0 {
			t.Errorf("stopping the greeter: exit code %d, %v\n%s", code, err, p.Output())
		}
	}()
	if err := p.WaitListening(time.Minute); err != nil {
		t.Fatalf("%v\n%s", err, p.Output())
	}

	// Off Google Cloud the greeter's cookie is session_id too: Visit sends
	// the tutorial's id under that name, and the answer replaces it.
	third := greeterdrive.Visit(ctx, hc, p.URL+"/", second.Got)
	if !third.OK() || third.Views != 3 || third.Greeting != first.Greeting {
		t.Fatalf("the greeter, with the tutorial's cookie: %v; want view 3 for %q", third, first.Greeting)
	}
	if third.Got == second.Got || third.Got == "" {
		t.Fatalf("the greeter set cookie %q, want a session id of its own", third.Got)
	}
	fourth := greeterdrive.Visit(ctx, hc, p.URL+"/", third.Got)
	if !fourth.OK() || fourth.Views != 4 || fourth.Greeting != first.Greeting || fourth.Got != third.Got {
		t.Errorf("the greeter, with its own cookie: %v; want view 4 for %q of the same session", fourth, first.Greeting)
	}
}
