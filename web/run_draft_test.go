package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// TestRunDraftTestRuns: a test run of a draft (API, the form with and without htmx) runs the
// draft as saved, once, without publishing; it is marked as a draft on its page and in the
// lists, which leave it out unless asked for drafts, and it never counts as a run of a
// version. A draft with problems is refused with them.
func TestRunDraftTestRuns(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	g := ana.createGraph("Greeting", greetDoc)
	ana.publish(g, "first")
	ana.saveDraft(g, greetDocV2) // the draft now has a pause the version lacks
	pub := ana.startRun(g, map[string]any{"name": "Ada"})

	// The API.
	r := ana.send(http.MethodPost, "/graphs/"+g+"/draft/runs", map[string]any{"input": map[string]any{"name": "Bo"}})
	wantStatus(t, r, http.StatusCreated)
	var started struct {
		RunID string `json:"run_id"`
		Draft bool   `json:"draft"`
	}
	if err := json.Unmarshal([]byte(r.Body), &started); err != nil || !started.Draft || !strings.HasPrefix(started.RunID, "draft-") {
		t.Fatalf("started = %s", r.Body)
	}
	draft := started.RunID
	run := rc.waitRun(t, draft, "pausing", func(r *engine.Run) bool { return r.Nodes["pause"].Status == engine.NodeRunning })
	if !run.Draft || run.Version != 0 || run.Nodes["shout"].Output != "HELLO BO!" || run.StartedBy != "ana" {
		t.Errorf("draft run = %+v", run)
	}
	if r := ana.get("/runs/" + draft); !strings.Contains(r.Body, `"draft":true`) {
		t.Errorf("GET the draft run: %s", r.Body)
	}
	wantAPIError(t, ana.send(http.MethodPost, "/graphs/"+g+"/draft/runs", map[string]any{"input": map[string]any{}}), http.StatusUnprocessableEntity, "invalid")
	wantAPIError(t, ana.send(http.MethodPost, "/graphs/"+g+"/draft/runs", map[string]any{"input": map[string]any{"name": "x"}, "revision": 1}),
		http.StatusConflict, "conflict")

	// Lists and counts leave it out, unless asked for drafts.
	rows := runRowsOf(t, ana.waitListed("drafts=true", 1))
	if rows[0].RunID != draft || rows[0].Version != 0 {
		t.Errorf("draft runs = %+v", rows)
	}
	for _, q := range []string{"", "graph=" + g, "version=1"} {
		if rows := runRowsOf(t, ana.waitListed(q, 1)); rows[0].RunID != pub {
			t.Errorf("GET /runs?%s = %+v, want only the run of v1", q, rows)
		}
	}
	wantStatus(t, ana.get("/runs?drafts=true&version=1"), http.StatusBadRequest)
	wantStatus(t, ana.get("/runs?drafts=maybe"), http.StatusBadRequest)
	if n, err := rc.eng.CountRuns(context.Background(), g); err != nil || n != 1 {
		t.Errorf("runs of %s = %d, %v; want 1", g, n, err)
	}

	dev := app.signedIn("dev", store.RoleDeveloper)
	analyst := app.signedIn("ana")
	t.Run("pages", func(t *testing.T) {
		r := dev.get("/runs/" + draft)
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="run-draft"`, "Draft test run", `href="/graphs/`+g+`/edit"`, `data-testid="node-pause"`)
		runWantNoBody(t, r, `data-testid="run-version"`, "Version 0", `data-testid="run-compare"`)
		r = dev.get("/runs?drafts=true")
		runWantBody(t, r, `data-testid="run-draft-`+draft+`"`, `<option value="true" selected>`)
		runWantNoBody(t, r, `data-testid="run-row-`+pub+`"`)
		runWantNoBody(t, dev.get("/runs"), `data-testid="run-row-`+draft+`"`)
	})

	t.Run("form", func(t *testing.T) {
		r := analyst.get("/graphs/" + g + "/test-run")
		wantStatus(t, r, http.StatusOK)
		gr, err := app.DB.GetGraph(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		rev := strconv.FormatInt(gr.DraftRevision, 10)
		runWantBody(t, r, `data-testid="testrun-form"`, `action="/graphs/`+g+`/test-run"`, `name="in.name"`, `name="revision" value="`+rev+`"`)
		// Fields that do not fit are marked; nothing starts.
		r = analyst.postForm("/graphs/"+g+"/test-run", url.Values{"revision": {rev}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		runWantBody(t, r, "The test run was not started.", `data-testid="input-name-error"`)
		// Without JavaScript, on to the run's page; for the editor, the run to follow.
		r = analyst.postForm("/graphs/"+g+"/test-run", url.Values{"in.name": {"Cy"}})
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/runs/draft-") {
			t.Errorf("went to %q", loc)
		}
		r = analyst.postForm("/graphs/"+g+"/test-run", url.Values{"in.name": {"Di"}, "revision": {rev}}, "HX-Request", "true")
		wantStatus(t, r, http.StatusOK)
		runWantBody(t, r, `data-testid="testrun-started"`, `data-state-url="/api/v1/runs/draft-`)
		runWantNoBody(t, r, "<html")
		// A draft run runs again as a draft run.
		r = analyst.postForm("/runs/"+draft+"/rerun", nil)
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/runs/draft-") {
			t.Errorf("run again went to %q", loc)
		}
		wantStatus(t, dev.get("/graphs/"+g+"/test-run"), http.StatusForbidden)
	})

	t.Run("draft with problems", func(t *testing.T) {
		ana.saveDraft(g, badDoc)
		r := ana.send(http.MethodPost, "/graphs/"+g+"/draft/runs", map[string]any{"input": map[string]any{}})
		wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
		runWantBody(t, r, "fix them before a test run", "teleport")
		r = analyst.get("/graphs/"+g+"/test-run", "HX-Request", "true")
		wantStatus(t, r, http.StatusUnprocessableEntity)
		runWantBody(t, r, `data-testid="testrun-refusal"`, "The draft has 2 problems", "teleport")
		runWantNoBody(t, r, `data-testid="testrun-form"`, "<html")
	})
	for _, id := range []string{draft} {
		_ = rc.eng.CancelRun(context.Background(), id, "test over")
	}
}

// testRunDoc loads the name, calls $URL (held open until the test lets it answer, so the
// canvas is sure to show it running however slow the machine), then greets.
const testRunDoc = `{"format": "trellis.graph/v1", "name": "Call then greet",
  "input": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "title": "Name"}}},
  "nodes": [{"id": "load", "kind": "transform", "label": "Load", "position": {"x": 40, "y": 40}, "config": {"value": "input.name"}},
            {"id": "call", "kind": "http", "label": "Call", "position": {"x": 300, "y": 40}, "config": {"url": "$URL/call"}},
            {"id": "done", "kind": "transform", "label": "Greet", "position": {"x": 560, "y": 40}, "config": {"value": "'Hello ' + nodes.load.output"}}],
  "edges": [{"from": "load", "to": "call"}, {"from": "call", "to": "done"}]}`

// TestRunBrowserDraftTestRun: from the editor, "Test run…" opens the form made from the
// draft's input schema; the run it starts colours the canvas's nodes by status as it goes,
// and the strip links to the run's page. Nothing is published.
func TestRunBrowserDraftTestRun(t *testing.T) {
	requireChromium(t)
	app, rc := newRunApp(t)
	release := make(chan struct{})
	svc := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(svc.Close)
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	t.Cleanup(let) // runs before svc.Close, so that Close does not wait for a held call
	ana := app.api("ana", store.RoleAnalyst)
	g := ana.createGraph("Call then greet", strings.Replace(testRunDoc, "$URL", svc.URL, 1))

	b := newBrowser(t, app)
	b.login("ana", testPassword)
	b.open("/graphs/" + g + "/edit")
	b.do("wait for the editor", chromedp.WaitVisible(chromedp.CSS(`#editor[data-ready="true"]`)))
	b.click("testrun-open")
	b.waitVisible("testrun-form")
	b.fill("run-input-name", "Ada")
	b.screenshot("testrun-form")
	b.click("testrun-submit")
	b.waitVisible("testrun-bar")
	id := b.text("testrun-link")
	if !strings.HasPrefix(id, "draft-") {
		t.Fatalf("test run id %q", id)
	}
	// The canvas follows the run: the call is held, so it shows running, after load.
	b.do("wait for the call", chromedp.WaitVisible(chromedp.CSS(`[data-testid="node-call"][data-run-status="running"]`)))
	b.do("wait for load", chromedp.WaitVisible(chromedp.CSS(`[data-testid="node-load"][data-run-status="completed"]`)))
	if s := browserRun(b, "done's status", chromedp.Evaluate[string](`document.querySelector('[data-testid="node-done"]').getAttribute("data-run-status") || ""`)); s != "pending" {
		t.Errorf("done's status on the canvas = %q while the call runs, want pending", s)
	}
	b.screenshot("testrun-running")
	let()
	if run := rc.waitRun(t, id, "ended", runEnded); run.Status != engine.RunCompleted {
		t.Fatalf("test run %s: %+v", run.Status, run)
	}
	b.do("wait for the end", chromedp.WaitVisible(chromedp.CSS(`[data-testid="testrun-bar"][data-status="completed"]`)))
	for _, n := range []string{"load", "call", "done"} {
		b.do("wait for "+n, chromedp.WaitVisible(chromedp.CSS(`[data-testid="node-`+n+`"][data-run-status="completed"]`)))
	}
	b.screenshot("testrun-done")
	run, err := rc.eng.GetRun(context.Background(), id)
	if err != nil || !run.Draft || run.Status != engine.RunCompleted || run.Nodes["done"].Output != "Hello Ada" {
		t.Fatalf("test run = %+v, %v", run, err)
	}
	if href := browserRun(b, "link", chromedp.Evaluate[string](`document.querySelector('[data-testid="testrun-link"]').getAttribute("href")`)); href != "/runs/"+id {
		t.Errorf("the strip links to %q", href)
	}
	// Clear takes the colours off; the graph was not published.
	b.click("testrun-clear")
	if n := browserRun(b, "coloured nodes", chromedp.Evaluate[int](`document.querySelectorAll("[data-run-status]").length`)); n != 0 {
		t.Errorf("%d nodes still coloured after Clear", n)
	}
	if v, err := app.DB.ListVersions(context.Background(), g); err != nil || len(v) != 0 {
		t.Errorf("versions after a test run = %d, %v; want none", len(v), err)
	}
}
