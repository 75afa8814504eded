package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// napDoc calls $URL, which answers only when the test says so, then greets. The call is
// held open, not timed: the page must find it running however slow the machine is.
const napDoc = `{"format": "trellis.graph/v1", "name": "Nap then greet",
  "nodes": [{"id": "load", "kind": "transform", "label": "Load", "config": {"value": "input.name"}},
            {"id": "pause", "kind": "http", "label": "Nap", "config": {"url": "$URL/nap"}},
            {"id": "done", "kind": "transform", "label": "Greet", "config": {"value": "'Hello ' + nodes.load.output"}}],
  "edges": [{"from": "load", "to": "pause"}, {"from": "pause", "to": "done"}]}`

// heldService answers every request with {"ok": true}, but only once release is closed.
type heldService struct {
	*httptest.Server
	release chan struct{}
	once    sync.Once
}

func newHeldService(t *testing.T) *heldService {
	h := &heldService{release: make(chan struct{})}
	h.Server = testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok": true}`)
	}))
	// Cleanups run last first: release, so that Close does not wait for a held request.
	t.Cleanup(h.Close)
	t.Cleanup(h.let)
	return h
}

// let answers the requests held and every later one.
func (h *heldService) let() { h.once.Do(func() { close(h.release) }) }

// napTwiceDoc is napDoc with a second held call before the greeting.
const napTwiceDoc = `{"format": "trellis.graph/v1", "name": "Nap twice then greet",
  "nodes": [{"id": "load", "kind": "transform", "label": "Load", "config": {"value": "input.name"}},
            {"id": "pause", "kind": "http", "label": "Nap", "config": {"url": "$URL/nap"}},
            {"id": "again", "kind": "http", "label": "Nap again", "config": {"url": "$URL2/nap"}},
            {"id": "done", "kind": "transform", "label": "Greet", "config": {"value": "'Hello ' + nodes.load.output"}}],
  "edges": [{"from": "load", "to": "pause"}, {"from": "pause", "to": "again"}, {"from": "again", "to": "done"}]}`

// runPageFetches counts the requests the page made for the run page itself (fragments
// included), which polling would make every few seconds.
func runPageFetches(b *browser, id string) int {
	return browserRun(b, "run page fetches", chromedp.Evaluate[int](`performance.getEntriesByType("resource").filter(
		e => new URL(e.name).pathname === "/runs/`+id+`").length`))
}

// TestRunBrowserLive opens a running run and watches its http node turn from running to
// completed without a reload and without fetching the page again (the change comes as a
// server-sent event); then the run's end brings the output; then selects a node and zooms
// the timeline in place.
func TestRunBrowserLive(t *testing.T) {
	requireChromium(t)
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	app.user("dev", store.RoleDeveloper)
	svc, svc2 := newHeldService(t), newHeldService(t)
	g := ana.createGraph("Nap twice then greet", strings.NewReplacer("$URL2", svc2.URL, "$URL", svc.URL).Replace(napTwiceDoc))
	ana.publish(g, "first")
	id := ana.startRun(g, map[string]any{"name": "Ada"})
	rc.waitRun(t, id, "calling", func(r *engine.Run) bool { return r.Nodes["pause"].Status == engine.NodeRunning })

	b := newBrowser(t, app)
	b.login("dev", testPassword)
	b.open("/runs/" + id)
	b.waitVisible("run-live")
	if cls := browserRun(b, "pause's class", chromedp.Evaluate[string](`document.querySelector('[data-testid="node-pause"]').getAttribute("class")`)); !strings.Contains(cls, "status-running") {
		t.Fatalf("pause's class = %q, want status-running", cls)
	}
	b.screenshot("run-running")
	// A reload would lose this.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.trellisTestMark = "same page"`))
	if live := browserRun(b, "live attributes", chromedp.Evaluate[string](`(e => (e.getAttribute("sse-connect") || "") + "|" + (e.getAttribute("hx-trigger") || ""))(document.getElementById("run-live"))`)); !strings.HasPrefix(live, "/runs/"+id+"/events?v=") || !strings.HasSuffix(live, "|") {
		t.Fatalf("#run-live sse-connect|hx-trigger = %q, want an event stream and no polling", live)
	}
	svc.let()
	b.do("wait for pause to complete", chromedp.WaitVisible(chromedp.CSS(`[data-testid="node-pause"].status-completed`)))
	b.do("wait for its timeline row", chromedp.WaitVisible(chromedp.CSS(`[data-testid="tl-row-pause"].status-completed`)))
	if n := runPageFetches(b, id); n != 0 {
		t.Errorf("the page fetched itself %d times to show a node's change; the event stream should bring it (%s)", n,
			browserRun(b, "entries", chromedp.Evaluate[string](`JSON.stringify(performance.getEntriesByType("resource").map(e => [e.name, Math.round(e.startTime)]))`)))
	}
	svc2.let()
	b.do("wait for the run to complete", chromedp.WaitVisible(chromedp.CSS(`#run-live[data-status="completed"]`)))
	if mark := browserRun(b, "mark", chromedp.Evaluate[string](`window.trellisTestMark || ""`)); mark != "same page" {
		t.Fatal("the page was reloaded")
	}
	b.waitVisible("run-output")
	if out := b.text("run-output"); !strings.Contains(out, "Hello Ada") {
		t.Errorf("output = %q", out)
	}
	if polling := b.exists("run-live") && browserRun(b, "polling", chromedp.Evaluate[bool](`document.getElementById("run-live").hasAttribute("hx-trigger")`)); polling {
		t.Error("the page still polls a run that has ended")
	}

	// Select a node on the drawing: the inspector shows it, the address bar follows.
	b.click("node-done")
	b.do("wait for the inspector", chromedp.WaitVisible(chromedp.Search(`//h2[@data-testid="inspector-node"][contains(., "Greet")]`)))
	if out := b.text("inspector-output"); !strings.Contains(out, "Hello Ada") {
		t.Errorf("inspector output = %q", out)
	}
	if p := b.path(); p != "/runs/"+id+"?node=done" {
		t.Errorf("address = %s", p)
	}
	// Zoom the timeline in place.
	before := b.text("timeline-window")
	b.click("timeline-zoom-in")
	b.do("wait for the zoomed timeline", chromedp.WaitVisible(testID("timeline-reset")))
	if after := b.text("timeline-window"); after == before || !strings.Contains(after, " of ") {
		t.Errorf("window %q after zooming in, was %q", after, before)
	}
	if mark := browserRun(b, "mark", chromedp.Evaluate[string](`window.trellisTestMark || ""`)); mark != "same page" {
		t.Fatal("selecting or zooming reloaded the page")
	}
	b.do("reset", chromedp.Click(testID("timeline-reset"), chromedp.NodeVisible))
	b.screenshot("run-completed")

	b.open("/runs")
	b.waitVisible("run-table")
	b.screenshot("runs-list")
	if r := app.client().get("/runs"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous /runs: %d, want a redirect to sign in", r.StatusCode)
	}
}
