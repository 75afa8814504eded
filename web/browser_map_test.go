package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/store"
)

// TestBrowserMapFromPalette draws a map as an analyst does: "For each item" from the palette,
// its items, its inline step (a transform of each item) and how many at once typed into the
// server-rendered form; publishes it; starts a run from the version page; and sees the run
// complete with the map's per-item progress on the drawing, its outputs in item order, and
// a timeline row for each item under the map's row.
func TestBrowserMapFromPalette(t *testing.T) {
	requireChromium(t)
	app, rc := newRunApp(t)
	app.user("ada", store.RoleAnalyst, store.RoleDeveloper)
	id := createGraphIn(t, app, "Each item", "")
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.waitVisible("canvas-empty")

	b.click("palette-map")
	b.waitVisible("node-map_1")
	b.waitJS("map form", `document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "map_1"`)
	b.typeInto("input-config.items", "[1, 2, 3]")
	b.typeInto("input-config.node", `{"kind": "transform", "config": {"value": "item * 10 + index"}}`)
	b.typeInto("input-config.concurrency", "2")
	b.waitSaved()
	node := draftNode(t, app, id, "map_1")
	cfg, _ := node["config"].(map[string]any)
	body, _ := cfg["node"].(map[string]any)
	if node["kind"] != "map" || cfg["items"] != "[1, 2, 3]" || body["kind"] != "transform" || fmt.Sprint(cfg["concurrency"]) != "2" {
		t.Fatalf("stored map node = %v", node)
	}
	b.screenshot("editor-map")

	b.click("publish-open")
	b.waitVisible("publish-dialog")
	b.typeInto("publish-note", "For each item")
	b.click("publish-submit")
	b.waitVisible("publish-done")
	if got := b.text("publish-done"); !strings.Contains(got, "Published version 1") {
		t.Fatalf("publish says %q", got)
	}

	b.open("/graphs/" + id + "/versions/1")
	b.waitVisible("version-run")
	b.click("run-submit")
	b.do("wait for the run page", chromedp.WaitVisible(chromedp.CSS(`#run-live`)))
	runID := strings.TrimPrefix(strings.SplitN(b.path(), "?", 2)[0], "/runs/")
	run := rc.waitRun(t, runID, "ended", func(r *engine.Run) bool { return r.Status != engine.RunRunning })
	if run.Status != engine.RunCompleted {
		t.Fatalf("run %s: %s", runID, run.Status)
	}
	out, _ := run.Nodes["map_1"].Output.(map[string]any)
	if got := fmt.Sprint(out["items"]); got != "[10 21 32]" {
		t.Fatalf("map outputs = %s, want [10 21 32]", got)
	}
	b.open("/runs/" + runID)
	b.do("wait for the completed run", chromedp.WaitVisible(chromedp.CSS(`#run-live[data-status="completed"]`)))
	// The map's note on the drawing (its tooltip) counts the items.
	b.waitJS("the map's item count", `document.querySelector('[data-testid="node-map_1"]')?.textContent.includes("3 of 3 items done")`)
	for i := range 3 {
		b.waitVisible(fmt.Sprintf("tl-row-map_1.%d", i))
	}
	b.screenshot("run-map")
}
