package web

// The browser harness: Debian's chromium driven by chromedp against a testApp. Browser tests of
// later features reuse it:
//
//	app := newTestApp(t)
//	app.user("ada", store.RoleAdmin)
//	b := newBrowser(t, app)
//	b.login("ada", testPassword)
//	b.click("nav-admin")
//	b.waitVisible("user-table")
//
// Selectors are data-testid values. Console errors and uncaught exceptions (CSP violations
// among them) fail the test. Set TRELLIS_SCREENSHOTS=DIR to save b.screenshot(name) as PNGs.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which `make chromium` installs.
const chromiumPath = "/usr/bin/chromium"

// browserActionTimeout bounds one browser step, so that a missing element fails the test
// instead of hanging it.
const browserActionTimeout = 30 * time.Second

type browser struct {
	t   *testing.T
	app *testApp
	ctx context.Context

	mu       sync.Mutex
	problems []string // console errors and exceptions
}

// requireChromium skips the test when chromium is absent, unless CI is set, where its absence
// is a failure.
func requireChromium(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium not found at %s; CI must install it (make chromium): %v", chromiumPath, err)
		}
		t.Skipf("chromium not found at %s; install it with `make chromium` (apt-get install chromium) to run browser tests", chromiumPath)
	}
}

// newBrowser starts a headless chromium with a fresh profile for app. It stops when the test
// ends, and then fails the test if the pages logged errors.
func newBrowser(t *testing.T, app *testApp) *browser {
	t.Helper()
	requireChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &browser{t: t, app: app, ctx: ctx}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser with no deadline
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancelCtx()
		<-done
		for _, p := range b.consoleProblems() {
			t.Errorf("browser console: %s", p)
		}
	})
	return b
}

// consoleProblems returns the errors the pages logged so far, less those a test allowed.
func (b *browser) consoleProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// allowConsoleErrors forgets console errors so far that contain text (e.g. an expected 401).
func (b *browser) allowConsoleErrors(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.problems[:0]
	for _, p := range b.problems {
		if !strings.Contains(p, text) {
			kept = append(kept, p)
		}
	}
	b.problems = kept
}

// testID selects the element with data-testid=id.
func testID(id string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf("[data-testid=%q]", id))
}

// do runs steps within the step timeout and fails the test on error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// run runs one action that returns a value.
func browserRun[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// open navigates to a path of the app.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.app.URL+path))
}

func (b *browser) click(id string) {
	b.t.Helper()
	b.do("click "+id, chromedp.Click(testID(id), chromedp.NodeVisible))
}

// fill types value into the empty field id.
func (b *browser) fill(id, value string) {
	b.t.Helper()
	b.do("fill "+id, chromedp.Clear(testID(id)), chromedp.SendKeys(testID(id), value))
}

func (b *browser) waitVisible(id string) {
	b.t.Helper()
	b.do("wait for "+id, chromedp.WaitVisible(testID(id)))
}

// text is the visible text of element id.
func (b *browser) text(id string) string {
	b.t.Helper()
	return strings.TrimSpace(browserRun(b, "text of "+id, chromedp.Text(testID(id), chromedp.NodeVisible)))
}

// exists reports whether an element id is in the page now, without waiting.
func (b *browser) exists(id string) bool {
	b.t.Helper()
	return browserRun(b, "look for "+id, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", fmt.Sprintf("[data-testid=%q]", id))))
}

// path is the path and query of the current page.
func (b *browser) path() string {
	b.t.Helper()
	loc := browserRun(b, "location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// login signs in through the form, from wherever the browser is.
func (b *browser) login(name, password string) {
	b.t.Helper()
	if !strings.HasPrefix(b.path(), "/login") {
		b.open("/login")
	}
	b.waitVisible("login-form")
	b.fill("login-name", name)
	b.fill("login-password", password)
	b.click("login-submit")
	b.waitVisible("user-name")
}

// screenshot saves a PNG of the viewport as DIR/name.png when TRELLIS_SCREENSHOTS=DIR is set.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("TRELLIS_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := browserRun(b, "screenshot", chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// viewport resizes the page, e.g. b.viewport(390, 844) for a phone.
func (b *browser) viewport(width, height int64) {
	b.t.Helper()
	b.do("resize", chromedp.EmulateViewport(width, height))
}
