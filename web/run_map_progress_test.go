package web

import (
	"net/http"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/store"
)

const mapCallsDoc = `{"format": "trellis.graph/v1", "name": "Call each",
  "nodes": [{"id": "each", "kind": "map", "label": "Call each", "config": {"items": "1..6", "concurrency": 2,
     "node": {"kind": "http", "config": {"url": "$URL/item"}}}}],
  "edges": []}`

// TestRunPageMapProgress: a map's node on the run page says how many of its items are done,
// while it runs and once it has ended.
func TestRunPageMapProgress(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	svc := newHeldService(t)
	g := ana.createGraph("Call each", strings.Replace(mapCallsDoc, "$URL", svc.URL, 1))
	ana.publish(g, "first")
	id := ana.startRun(g, nil)
	rc.waitRun(t, id, "2 items in flight", func(r *engine.Run) bool {
		p := r.Nodes["each"].Items
		return p != nil && p.Total == 6
	})
	dev := app.signedIn("dev", store.RoleDeveloper)
	page := dev.get("/runs/" + id)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, "0 of 6 items done") {
		t.Errorf("the running map's note lacks its progress")
	}
	svc.let()
	rc.waitRun(t, id, "ended", func(r *engine.Run) bool { return r.EndedAt != nil })
	if body := dev.get("/runs/" + id).Body; !strings.Contains(body, "6 of 6 items done") {
		t.Errorf("the ended map's note lacks its progress")
	}
}
