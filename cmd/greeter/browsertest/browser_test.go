package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/firestore-sessions/sessions/cmd/greeter/internal/greetertest"
	"github.com/firestore-sessions/sessions/internal/emulator"
)

// chromium is Debian's Chromium.
const chromium = "/usr/bin/chromium"

// TestMain starts the Firestore emulator unless FIRESTORE_EMULATOR_HOST
// names one.
func TestMain(m *testing.M) { os.Exit(emulator.Main(m)) }

// A visitor's browser keeps its greeting and counts its views; a private
// window (a new browser context, with cookies of its own) starts a new
// session.
func TestBrowser(t *testing.T) {
	requireChromium(t)
	host := emulator.Require(t)
	greeter := greetertest.Start(t, greetertest.Build(t),
		"FIRESTORE_EMULATOR_HOST="+host, "GOOGLE_CLOUD_PROJECT="+emulator.ProjectID(t))
	url := "http://localhost:" + strconv.Itoa(greeter.Port) + "/"

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	// Chromium also asks for /favicon.ico after a load: were that counted,
	// the counts below would run ahead.
	views, greeting := greetertest.ParseText(t, show(t, browser, chromedp.Navigate(url)))
	if views != 1 {
		t.Errorf("first load: %d views, want 1", views)
	}
	text := show(t, browser, chromedp.Reload())
	if v, g := greetertest.ParseText(t, text); v != 2 || g != greeting {
		t.Errorf("reload: %q, want 2 views for %q", text, greeting)
	}
	screenshot(t, browser)

	private, cancelPrivate := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelPrivate()
	text = show(t, private, chromedp.Navigate(url))
	if v, _ := greetertest.ParseText(t, text); v != 1 {
		t.Errorf("private window: %q, want 1 view of a new session", text)
	}

	text = show(t, browser, chromedp.Reload())
	if v, g := greetertest.ParseText(t, text); v != 3 || g != greeting {
		t.Errorf("first window again: %q, want 3 views for %q", text, greeting)
	}

	cancelPrivate()
	cancelBrowser()
	cancelAlloc()
	if code := greeter.Stop(t); code != 0 {
		t.Errorf("greeter exit code %d after SIGTERM, want 0", code)
	}
}

// requireChromium skips the test without Chromium, or fails it under CI.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("Chromium unavailable under CI: %v (apt-get install chromium)", err)
		}
		t.Skipf("Chromium unavailable: %v (apt-get install chromium)", err)
	}
}

// show runs step in the tab of ctx and returns the text of the page's body.
func show(t *testing.T, ctx context.Context, step chromedp.Action[chromedp.Void]) string {
	t.Helper()
	if err := chromedp.Do(ctx, step); err != nil {
		t.Fatalf("browser: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("body"))
	if err != nil {
		t.Fatalf("browser: reading the page: %v", err)
	}
	return text
}

// screenshot saves a PNG of the tab of ctx into $BROWSERTEST_SCREENSHOTS,
// or a temporary directory, to be looked at.
func screenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("BROWSERTEST_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "greeter.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
