package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trellis/store"
)

// TestBrowserVersionsSplit: an analyst sets a 50/50 split on the Versions tab, runs started
// without a version go to both versions, and the tab shows both versions' outcomes side by
// side.
func TestBrowserVersionsSplit(t *testing.T) {
	requireChromium(t)
	app := newEngineApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Split", splitDoc(1))
	ana.publish(id, "one")
	ana.saveDraft(id, splitDoc(2))
	ana.publish(id, "two")

	b := newBrowser(t, app.testApp)
	b.login("ana", testPassword)
	b.open("/graphs/" + id + "/versions")
	b.waitVisible("traffic-form")
	b.fill("percent-1", "50")
	b.fill("percent-2", "50")
	b.click("traffic-save")
	b.waitVisible("versions-notice")

	// Runs started without a version, until each version has two (the hash decides).
	got := map[int]int{}
	for i := 0; i < 60 && (got[1] < 2 || got[2] < 2); i++ {
		r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{}})
		wantStatus(t, r, http.StatusCreated)
		body := r.JSON(t)
		got[int(body["version"].(float64))]++
		app.waitRun(body["run_id"].(string))
	}
	if got[1] < 2 || got[2] < 2 {
		t.Fatalf("60 runs went %v under 50/50", got)
	}
	// Wait until visibility has recorded every end, then look.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var rep struct {
			Versions []struct {
				Version int            `json:"version"`
				Runs    map[string]int `json:"runs"`
			} `json:"versions"`
		}
		_ = json.Unmarshal([]byte(ana.get("/graphs/"+id+"/versions/stats").Body), &rep)
		if len(rep.Versions) == 2 && rep.Versions[0].Runs["completed"] == got[2] && rep.Versions[1].Runs["completed"] == got[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never showed %v: %+v", got, rep)
		}
	}
	b.open("/graphs/" + id + "/versions")
	b.waitVisible("compare-table")
	rows := browserRun(b, "outcome rows", chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid^="outcome-"] [data-testid="runs"]')].map(e => e.textContent.replace(/\s+/g, ' ').trim())`))
	if len(rows) != 2 || !strings.Contains(rows[0], "completed") || !strings.Contains(rows[1], "completed") {
		t.Errorf("outcome rows = %q, want both versions with completed runs", rows)
	}
	percents := browserRun(b, "traffic cells", chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="traffic-percent"]')].map(e => e.textContent.trim())`))
	if len(percents) != 2 || percents[0] != "50 %" || percents[1] != "50 %" {
		t.Errorf("traffic cells = %q", percents)
	}
	b.screenshot("versions-split")
}
