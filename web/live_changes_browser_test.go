package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/store"
)

// TestBrowserRunsListLive: the runs list shows a run end without a reload and without
// polling: the stream of changes tells the rows to ask for themselves again.
func TestBrowserRunsListLive(t *testing.T) {
	requireChromium(t)
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	app.user("dev", store.RoleDeveloper)
	svc := newHeldService(t)
	g := ana.createGraph("Nap then greet", strings.Replace(napDoc, "$URL", svc.URL, 1))
	ana.publish(g, "first")
	id := ana.startRun(g, map[string]any{"name": "Ada"})
	rc.waitRun(t, id, "calling", func(r *engine.Run) bool { return r.Nodes["pause"].Status == engine.NodeRunning })
	ana.waitListed("", 1)

	b := newBrowser(t, app)
	b.login("dev", testPassword)
	b.open("/runs")
	row := `[data-testid="run-row-` + id + `"] [data-testid="status"]`
	b.do("the run is running", chromedp.WaitVisible(chromedp.CSS(row+`[data-status="running"]`)))
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.trellisTestMark = "same page"`))
	svc.let()
	b.do("the row shows the end", chromedp.WaitVisible(chromedp.CSS(row+`[data-status="completed"]`)))
	if mark := browserRun(b, "mark", chromedp.Evaluate[string](`window.trellisTestMark || ""`)); mark != "same page" {
		t.Fatal("the page was reloaded")
	}
	// The rows were asked for because of the stream, not a timer: the tbody has no polling trigger.
	if trig := browserRun(b, "trigger", chromedp.Evaluate[string](`document.getElementById("run-rows").getAttribute("hx-trigger") || ""`)); strings.Contains(trig, "every") {
		t.Errorf("run-rows hx-trigger = %q, want no polling", trig)
	}
}
