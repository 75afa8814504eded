package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// TestBrowserMapFromPalette draws a map as an analyst does: "For each item" from the palette,
// its items typed in, "Ask an LLM" chosen as the step for each item in the body's kind picker,
// whose own fields (from the same server-rendered form builder as a top-level step) then show
// the designer's "prompt is required" beside the prompt until it is typed; publishes it; starts
// a run from the version page against a local model server speaking the OpenAI protocol; and
// sees the run complete with the map's per-item progress on the drawing, the answers in item
// order, and a timeline row for each item under the map's row.
func TestBrowserMapFromPalette(t *testing.T) {
	requireChromium(t)
	// The model answers "label of <item>" for the item named in the prompt.
	word := regexp.MustCompile(`Classify ([a-z]+)`)
	chat := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := word.FindStringSubmatch(string(b))
		if m == nil {
			http.Error(w, "no item in the prompt", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		answer, _ := json.Marshal("label of " + m[1])
		fmt.Fprintf(w, `{"id": "c1", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 5, "completion_tokens": 3},
			"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": %s}}]}`, answer)
	})
	app, rc := newRunAppWith(t, engine.Deps{Providers: oneProvider{chat.URL}})
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
	b.typeInto("input-config.items", `["alpha", "beta", "gamma"]`)
	// One step for each item is the body a new map starts with; its kind comes from a picker.
	if !evalJS[bool](b, `document.querySelector('[data-testid="map-body-mode-node"]').checked`) {
		t.Fatal("a new map does not start with one step for each item")
	}
	b.pickOption("input-config.node.kind", "llm")
	b.waitVisible("input-config.node.config.prompt")
	if got := b.activeTestID(); got != "input-config.node.kind" {
		t.Errorf("after choosing the kind, the focus is on %q", got)
	}
	b.waitVisible("error-config.node.config.prompt")
	if got := b.text("error-config.node.config.prompt"); !strings.Contains(got, "Prompt is required") {
		t.Errorf("the prompt's problem = %q", got)
	}
	// The drawing says what each item runs.
	b.waitJS("the body on the node", `document.querySelector('[data-testid="node-body-map_1"]')?.textContent === "map_1 · Ask an LLM"`)
	b.typeInto("input-config.node.config.prompt", "Classify {{ item }} (number {{ index }}).")
	b.typeInto("input-config.concurrency", "2")
	b.waitSaved()
	b.waitJS("the prompt's problem is gone", `document.querySelector('[data-testid="error-config.node.config.prompt"]').hidden`)
	node := draftNode(t, app, id, "map_1")
	cfg, _ := node["config"].(map[string]any)
	body, _ := cfg["node"].(map[string]any)
	bodyCfg, _ := body["config"].(map[string]any)
	if node["kind"] != "map" || cfg["items"] != `["alpha", "beta", "gamma"]` || body["kind"] != "llm" ||
		bodyCfg["prompt"] != "Classify {{ item }} (number {{ index }})." || fmt.Sprint(cfg["concurrency"]) != "2" {
		t.Fatalf("stored map node = %v", node)
	}
	b.waitJS("no problems", `document.querySelectorAll('[data-testid="problem"]').length === 0`)
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
	run := rc.waitRun(t, runID, "ended", runEnded)
	if run.Status != engine.RunCompleted {
		t.Fatalf("run %s: %s %+v", runID, run.Status, run.Error)
	}
	out, _ := run.Nodes["map_1"].Output.(map[string]any)
	items, _ := out["items"].([]any)
	var texts []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		texts = append(texts, fmt.Sprint(m["text"]))
	}
	if got := strings.Join(texts, ", "); got != "label of alpha, label of beta, label of gamma" {
		t.Fatalf("map answers = %q", got)
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

// TestBrowserMapGraphBody switches a map's body to a graph: the graph's fields replace the
// step's, the id typed in is shown as the graph's name and version with a link to it, and
// switching back to one step takes the graph out of the draft.
func TestBrowserMapGraphBody(t *testing.T) {
	requireChromium(t)
	app := newAgentEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	ana := app.api("ada", store.RoleAnalyst)
	sub := createGraphIn(t, app, "Classify one", "")
	ana.publish(sub, "v1")
	id := createGraphIn(t, app, "Each with a graph", "")
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.click("palette-map")
	b.waitJS("map form", `document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "map_1"`)
	b.typeInto("input-config.items", "input.docs")
	b.click("map-body-mode-graph")
	b.waitVisible("input-config.graph")
	if got := b.activeTestID(); got != "map-body-mode-graph" {
		t.Errorf("after switching to a graph, the focus is on %q", got)
	}
	b.typeInto("input-config.graph", sub)
	b.keys(kb.Tab) // done with the field: its summary comes
	b.waitSaved()
	b.waitVisible("graph-ref-config.graph")
	if got := evalJS[string](b, `document.querySelector('[data-testid="node-body-map_1"]').textContent`); !strings.Contains(got, "graph "+sub[:4]) {
		t.Errorf("the map's node says %q", got)
	}
	if got := b.text("graph-ref-config.graph"); !strings.Contains(got, "Classify one") || !strings.Contains(got, "latest (version 1 now)") {
		t.Errorf("the body graph is shown as %q", got)
	}
	if href := evalJS[string](b, `document.querySelector('[data-testid="graph-ref-link-config.graph"]').getAttribute("href")`); href != "/graphs/"+sub {
		t.Errorf("the body graph links %q", href)
	}
	cfg, _ := draftNode(t, app, id, "map_1")["config"].(map[string]any)
	if cfg["graph"] != sub || cfg["node"] != nil {
		t.Fatalf("stored config = %v", cfg)
	}
	// Back by keyboard: the arrow keys move within the radio group.
	b.do("focus the graph radio", chromedp.Focus(testID("map-body-mode-graph")))
	b.keys(kb.ArrowLeft)
	b.waitVisible("input-config.node.kind")
	b.waitJS("the focus stays on the radio", `document.activeElement?.dataset.testid === "map-body-mode-node"`)
	b.waitSaved()
	cfg, _ = draftNode(t, app, id, "map_1")["config"].(map[string]any)
	if _, has := cfg["graph"]; has {
		t.Fatalf("the graph stays in the draft after switching back: %v", cfg)
	}

	// A new graph for the body: created as a draft, named in the map, linked.
	b.keys(kb.ArrowRight)
	b.waitVisible("new-body-graph")
	b.click("new-body-graph")
	b.waitJS("the new graph linked", `document.activeElement?.dataset.testid === "graph-ref-link-config.graph"`)
	if got := b.text("graph-ref-config.graph"); !strings.Contains(got, "Each with a graph: each item") || !strings.Contains(got, "not published yet") {
		t.Errorf("the new body graph is shown as %q", got)
	}
	b.waitSaved()
	cfg, _ = draftNode(t, app, id, "map_1")["config"].(map[string]any)
	newID, _ := cfg["graph"].(string)
	g, err := app.DB.GetGraph(context.Background(), newID)
	if err != nil || g.Name != "Each with a graph: each item" || !strings.Contains(string(g.Draft), `"output":"nodes.each.output"`) {
		t.Fatalf("the new body graph %q: %v %+v", newID, err, g)
	}
}
