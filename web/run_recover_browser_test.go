package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/store"
)

// TestRunRecoverBrowser: a developer opens a held run, sees the incident in the inspector,
// retries it from there once the service is back (keyboard: focus and Enter), and the page
// follows the run to its end.
func TestRunRecoverBrowser(t *testing.T) {
	requireChromium(t)
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	app.user("dev", store.RoleDeveloper)
	svc := newDownService(t)
	g := ana.createGraph("Hold", strings.ReplaceAll(holdDoc, "$URL", svc.URL))
	ana.publish(g, "first")
	id := ana.startRun(g, map[string]any{})
	rc.waitRun(t, id, "held", runIsHeld)

	b := newBrowser(t, app)
	b.login("dev", testPassword)
	b.open("/runs/" + id + "?node=call")
	b.waitVisible("inspector-incident")
	if st := browserRun(b, "run status", chromedp.Evaluate[string](`document.getElementById("run-live").dataset.status`)); st != engine.RunHeld {
		t.Fatalf("run status on the page = %q, want held", st)
	}
	svc.up.Store(true)
	b.do("retry with the keyboard", chromedp.Focus(testID("incident-retry")),
		chromedp.KeyEvent("\r"))
	b.do("wait for the run to complete", chromedp.WaitVisible(chromedp.CSS(`#run-live[data-status="completed"]`)))
	b.click("node-call")
	b.waitVisible("inspector-operator-actions")
	if txt := b.text("inspector-operator-actions"); !strings.Contains(txt, "retry by dev") {
		t.Errorf("operator actions = %q", txt)
	}
	if r := rc.waitRun(t, id, "ended", runEnded); r.Status != engine.RunCompleted {
		t.Fatalf("run = %+v", r)
	}
}
