package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"trellis/store"
)

// TestBrowserLoginLogout signs in with a real browser, finds the navigation, and signs out.
func TestBrowserLoginLogout(t *testing.T) {
	app := newTestApp(t)
	app.user("ada", store.RoleAdmin)
	b := newBrowser(t, app)

	// A signed-in page sends the browser to the sign-in form, remembering where it was going.
	b.open("/admin/users")
	b.waitVisible("login-form")
	if got := b.path(); got != "/login?next=%2Fadmin%2Fusers" {
		t.Fatalf("path = %q", got)
	}
	b.screenshot("login")

	// A wrong password shows the message and keeps the name.
	b.fill("login-name", "ada")
	b.fill("login-password", "wrong-password")
	b.click("login-submit")
	b.waitVisible("login-error")
	if got := b.text("login-error"); got != msgBadLogin {
		t.Fatalf("error = %q", got)
	}
	b.allowConsoleErrors("status of 401") // the form answers 401, which chromium logs
	b.screenshot("login-error")

	b.login("ada", testPassword)
	if got := b.path(); got != "/admin/users" {
		t.Fatalf("after sign-in path = %q, want /admin/users", got)
	}
	if got := b.text("user-name"); got != "ada" {
		t.Fatalf("user name = %q", got)
	}
	b.waitVisible("nav")
	if got := b.text("nav-admin"); got != "Admin" {
		t.Fatalf("admin link = %q", got)
	}
	b.waitVisible("user-table")
	b.screenshot("admin-users")

	b.click("brand")
	b.waitVisible("home-links")
	if !strings.Contains(b.text("home-nav-admin"), "Admin") {
		t.Fatal("home page lacks the Admin card")
	}
	b.screenshot("home")
	b.viewport(390, 844)
	b.screenshot("home-phone")
	b.viewport(1280, 800)

	b.click("logout")
	b.waitVisible("login-form")
	if got := b.path(); got != "/login" {
		t.Fatalf("after sign-out path = %q", got)
	}
	if b.exists("user-name") {
		t.Fatal("still shows a user after sign-out")
	}
	b.open("/")
	b.waitVisible("login-form")
}

// TestBrowserEnforcesCSP: an inline script is blocked by the Content-Security-Policy, and the
// harness reports the violation (so other browser tests would fail on one).
func TestBrowserEnforcesCSP(t *testing.T) {
	inline := func(c echo.Context) error {
		return c.HTML(http.StatusOK, `<!doctype html><title>x</title><link rel="icon" href="data:,"><p data-testid="p">before</p>`+
			`<script>document.querySelector("p").textContent = "after"</script>`)
	}
	app := newTestApp(t, withRoutes(Route{Method: http.MethodGet, Path: "/inline", Handler: inline}))
	app.user("ada", store.RoleAdmin)
	b := newBrowser(t, app)
	b.login("ada", testPassword)
	b.open("/inline")
	b.waitVisible("p")
	if got := b.text("p"); got != "before" {
		t.Fatalf("the inline script ran: %q", got)
	}
	problems := b.consoleProblems()
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), "Content Security Policy") {
		t.Fatalf("no CSP violation reported: %q", problems)
	}
	b.allowConsoleErrors("Content Security Policy")
}

// TestBrowserHTMX: htmx loads with our config (nothing CSP would block), sends the CSRF header,
// and app.js reports a failed request in the flash region.
func TestBrowserHTMX(t *testing.T) {
	echoHeader := func(c echo.Context) error {
		return c.String(http.StatusOK, c.Request().Header.Get(CSRFHeader))
	}
	app := newTestApp(t, withRoutes(Route{Method: http.MethodPost, Path: "/echo-csrf", Handler: echoHeader}))
	app.user("ada", store.RoleAdmin)
	b := newBrowser(t, app)
	b.login("ada", testPassword)

	if !browserRun(b, "htmx config", chromedp.Evaluate[bool](`htmx.config.includeIndicatorStyles === false &&
		htmx.config.allowEval === false && htmx.config.historyRestoreAsHxRequest === false &&
		htmx.config.responseHandling.some(r => r.code === "422" && r.swap)`)) {
		t.Fatal("htmx did not take the config from the meta tag")
	}

	// A POST through htmx passes the CSRF check with the header from hx-headers.
	b.do("htmx post", chromedp.Evaluate[chromedp.Void](`htmx.ajax("POST", "/echo-csrf", {target: "#flash", swap: "innerHTML"})`))
	b.do("wait for swap", chromedp.WaitVisible(chromedp.CSS("#flash:not(:empty)")))
	if got := browserRun(b, "flash text", chromedp.Text(chromedp.CSS("#flash"))); got == "" {
		t.Fatal("htmx sent no CSRF header")
	}

	b.do("htmx 404", chromedp.Evaluate[chromedp.Void](`htmx.ajax("GET", "/no/such/page", {target: "#flash"})`))
	b.waitVisible("flash")
	if got := b.text("flash"); got != "That no longer exists." {
		t.Fatalf("flash = %q", got)
	}
	b.allowConsoleErrors("status of 404")
	b.allowConsoleErrors("Error Code 404") // htmx logs failed requests too
}
