package web

import (
	"context"
	"encoding/json"
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
	// The inspector may be swapped by the run's last live update meanwhile: wait for the
	// text itself rather than read an element that can go.
	b.click("node-call")
	b.do("wait for the retry in the inspector", chromedp.WaitVisible(chromedp.Search(
		`//*[@data-testid="inspector-operator-actions"][contains(., "retry by dev")]`)))
	if r := rc.waitRun(t, id, "ended", runEnded); r.Status != engine.RunCompleted {
		t.Fatalf("run = %+v", r)
	}
}

// TestRunRewindBrowser: an analyst rewinds a completed run from its last node, correcting
// the carried-over output of the node before it in the preview's editor; the new run
// completes with the correction, shown beside what was recorded, and without calling the
// service again.
func TestRunRewindBrowser(t *testing.T) {
	requireChromium(t)
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	app.user("alex", store.RoleAnalyst)
	svc := newDownService(t)
	svc.up.Store(true)
	g := ana.createGraph("Hold", strings.ReplaceAll(holdDoc, "$URL", svc.URL))
	ana.publish(g, "first")
	id := ana.startRun(g, map[string]any{})
	rc.waitRun(t, id, "ended", runEnded)
	hits := svc.hits.Load()

	b := newBrowser(t, app)
	b.login("alex", testPassword)
	b.open("/runs/" + id + "?node=after")
	b.click("inspector-rewind")
	b.waitVisible("run-rewind")
	if txt := b.text("rewind-rerun"); !strings.Contains(txt, "after: the rewind starts here") {
		t.Errorf("runs again = %q", txt)
	}
	b.fill("rewind-output-call", `{"status": 200, "body": {"fixed": "by hand"}}`)
	b.click("rewind-start")
	b.do("wait for the new run to complete", chromedp.WaitVisible(chromedp.CSS(`#run-live[data-status="completed"]`)))
	b.waitVisible("run-rewound-from")
	if p := b.path(); strings.HasPrefix(p, "/runs/"+id) {
		t.Fatalf("still on the old run: %s", p)
	}
	b.click("node-call")
	b.do("wait for the correction", chromedp.WaitVisible(chromedp.Search(
		`//*[@data-testid="inspector-correction"][contains(., "Output corrected by alex")][contains(., "by hand")]`)))
	b.click("node-after")
	b.do("wait for after's output", chromedp.WaitVisible(chromedp.Search(`//*[@data-testid="inspector-output"][contains(., "by hand")]`)))
	// The new run scheduled no http activity: the service's answer was carried over. (Its
	// hit count is checked too, but only as a hint: on a loaded machine it has moved for
	// reasons of its own, so the history is what decides.)
	newID, _, _ := strings.Cut(strings.TrimPrefix(b.path(), "/runs/"), "?")
	if n := httpActivities(t, rc, id); n != 1 {
		t.Fatalf("the first run scheduled %d http activities, want 1", n)
	}
	if n := httpActivities(t, rc, newID); n != 0 {
		t.Errorf("the rewound run %s called the service again: %d http activities (hits %d → %d)", newID, n, hits, svc.hits.Load())
	} else if svc.hits.Load() != hits {
		t.Logf("service hits %d → %d, though the rewound run called no http activity", hits, svc.hits.Load())
	}
}

// httpActivities counts the http activities a run's history scheduled.
func httpActivities(t *testing.T, rc *runCluster, runID string) int {
	t.Helper()
	raw, err := rc.eng.RunHistory(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if at, ok := v["activityType"].(map[string]any); ok && at["name"] == "http" {
				n++
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	return n
}
