package web

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"trellis/store"
)

// The editor in a real browser against the real server, store and graph API. Selectors are
// data-testid values: node-ID, port-ID-PORT, palette-KIND, input-FIELD, error-FIELD.

// newEditorApp is a test app with the real store behind the graph routes and the editor.
func newEditorApp(t testing.TB) *testApp {
	t.Helper()
	return newTestApp(t, withSetup(func(s *appSetup) {
		s.Deps.Graphs = s.Deps.Users.(*store.DB)
	}))
}

// createGraphIn stores a graph with the given document (empty for an empty graph).
func createGraphIn(t testing.TB, app *testApp, name, doc string) string {
	t.Helper()
	g, err := app.DB.CreateGraph(context.Background(), name, []byte(doc), "ada")
	if err != nil {
		t.Fatalf("create graph: %v", err)
	}
	return g.ID
}

// openEditor opens the editor of graph id and waits until its script is ready.
func (b *browser) openEditor(id string) {
	b.t.Helper()
	b.open("/graphs/" + id + "/edit")
	b.do("wait for the editor", chromedp.WaitVisible(chromedp.CSS(`#editor[data-ready="true"]`)))
}

// evalJS evaluates a JavaScript expression in the page.
func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	return browserRun(b, expr, chromedp.Evaluate[T](expr))
}

// waitJS waits until a JavaScript expression is true.
func (b *browser) waitJS(what, expr string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50e6)))
}

// drag presses the mouse on element from and releases it on element to.
func (b *browser) drag(from, to string) {
	b.t.Helper()
	b.do("drag "+from+" to "+to, chromedp.DragAndDrop(testID(from), testID(to)))
}

// keys sends keys to the focused element, with modifiers.
func (b *browser) keys(keys string, mods ...chromedp.Modifier) {
	b.t.Helper()
	b.do("press "+keys, chromedp.KeyEvent(keys, chromedp.KeyModifiers(mods...)))
}

// typeInto replaces the text of field id by typing value (chromedp.Clear refuses empty
// textareas).
func (b *browser) typeInto(id, value string) {
	b.t.Helper()
	sel := fmt.Sprintf("[data-testid=%q]", id)
	b.do("type into "+id,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).select()`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// fitView shows the whole graph and waits until the view has changed on screen.
func (b *browser) fitView() {
	b.t.Helper()
	b.click("tool-fit")
	b.waitJS("view applied", `!window.trellisEditor.canvas.viewQueued`)
}

// waitSaved waits until the editor says the draft is saved.
func (b *browser) waitSaved() {
	b.t.Helper()
	b.waitJS("wait until saved", `document.querySelector('[data-testid="save-status"]').dataset.state === "saved"`)
}

func (b *browser) nodeCount() int {
	b.t.Helper()
	return evalJS[int](b, `document.querySelectorAll("#nodes-layer .node").length`)
}

func (b *browser) edgeCount() int {
	b.t.Helper()
	return evalJS[int](b, `document.querySelectorAll("#edges-layer .edge").length`)
}

// TestBrowserEditorBuildAndPublish draws a graph from nothing: three steps from the palette,
// two connections dragged with the mouse, settings typed into the server-rendered form, a
// problem that comes and goes, autosave, a reload, undo and redo, and publishing.
func TestBrowserEditorBuildAndPublish(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Three steps", "")
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.waitVisible("canvas-empty")
	b.screenshot("editor-empty")

	for i := 1; i <= 3; i++ {
		b.click("palette-transform")
		b.waitVisible(fmt.Sprintf("node-transform_%d", i))
	}
	if n := b.nodeCount(); n != 3 {
		t.Fatalf("%d nodes after adding three", n)
	}
	if b.exists("canvas-empty") && evalJS[bool](b, `!document.querySelector('[data-testid="canvas-empty"]').hidden`) {
		t.Fatal("the empty-canvas message still shows")
	}

	b.fitView()
	b.screenshot("editor-three")
	b.drag("port-transform_1-out", "node-transform_2")
	b.waitJS("first edge", `document.querySelector('[data-testid="edge-transform_1-out-transform_2"]') !== null`)
	b.drag("port-transform_2-out", "node-transform_3")
	b.waitJS("second edge", `document.querySelector('[data-testid="edge-transform_2-out-transform_3"]') !== null`)
	if n := b.edgeCount(); n != 2 {
		t.Fatalf("%d edges after two drags", n)
	}

	// New transforms have no value yet: the save reports it, on the node and in the list.
	b.waitSaved()
	b.waitJS("problems listed", `document.querySelectorAll('[data-testid="problem"]').length === 3`)
	if !evalJS[bool](b, `document.querySelector('[data-testid="node-transform_1"]').classList.contains("has-problems")`) {
		t.Fatal("node transform_1 has no problem badge")
	}

	// Fill each node's form; the first gets an expression that does not compile, the third a
	// fixed JSON value.
	values := map[int]string{1: `input.amount *`, 2: `nodes.transform_1.output + 1`, 3: `{"total": "{{ nodes.transform_2.output }}"}`}
	for i := 1; i <= 3; i++ {
		b.click(fmt.Sprintf("node-transform_%d", i))
		b.waitJS("form of node "+fmt.Sprint(i), fmt.Sprintf(`document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "transform_%d"`, i))
		if i == 3 {
			b.click("mode-config.value-json")
		}
		b.typeInto("input-config.value", values[i])
	}
	// Text that is not JSON yet is flagged at once, beside the field, and kept as typed.
	b.typeInto("input-config.value", `{"total": `)
	b.waitVisible("error-config.value")
	if got := b.text("error-config.value"); !strings.Contains(got, "not valid JSON") {
		t.Fatalf("inline error = %q", got)
	}
	if got := evalJS[string](b, `window.trellisEditor.model.node("transform_3").config.value`); got != `{"total": ` {
		t.Fatalf("the model does not keep the text as typed: %q", got)
	}
	b.typeInto("input-config.value", values[3])
	b.do("JSON error gone", chromedp.WaitNotVisible(testID("error-config.value")))
	if got := evalJS[string](b, `JSON.stringify(window.trellisEditor.model.node("transform_3").config.value)`); got != `{"total":"{{ nodes.transform_2.output }}"}` {
		t.Fatalf("the fixed value is stored as %s", got)
	}

	b.waitSaved()
	b.click("node-transform_1")
	b.waitVisible("error-config.value")
	if got := b.text("error-config.value"); !strings.Contains(got, "Column") {
		t.Fatalf("inline error = %q, want one with a column", got)
	}
	b.waitJS("one problem left", `document.querySelectorAll('[data-testid="problem"]').length === 1`)
	b.screenshot("editor-problem")

	b.typeInto("input-config.value", `input.amount * 2`)
	b.waitSaved()
	b.do("error gone", chromedp.WaitNotVisible(testID("error-config.value")))
	b.waitJS("no problems", `document.querySelectorAll('[data-testid="problem"]').length === 0`)
	if got := b.text("problem-count"); got != "No problems" {
		t.Fatalf("problem count = %q", got)
	}
	b.screenshot("editor-node-form")

	// The draft is on the server: a reload shows the same graph.
	b.openEditor(id)
	if n, e := b.nodeCount(), b.edgeCount(); n != 3 || e != 2 {
		t.Fatalf("after reload: %d nodes and %d edges, want 3 and 2", n, e)
	}
	g, err := app.DB.GetGraph(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(g.Draft), `"input.amount * 2"`) {
		t.Fatalf("stored draft lacks the value: %s", g.Draft)
	}

	// Delete a step, undo, redo, undo.
	b.click("node-transform_3")
	b.keys(kb.Delete)
	b.waitJS("node deleted", `document.querySelector('[data-testid="node-transform_3"]') === null`)
	if b.edgeCount() != 1 {
		t.Fatal("deleting a node left its edge")
	}
	b.keys("z", chromedp.ModifierCtrl)
	b.waitVisible("node-transform_3")
	if b.edgeCount() != 2 {
		t.Fatal("undo did not bring the edge back")
	}
	b.keys("y", chromedp.ModifierCtrl)
	b.waitJS("redo deletes again", `document.querySelector('[data-testid="node-transform_3"]') === null`)
	b.keys("z", chromedp.ModifierCtrl)
	b.waitVisible("node-transform_3")
	b.waitSaved()

	// Publish through the dialog.
	b.click("publish-open")
	b.waitVisible("publish-dialog")
	b.typeInto("publish-note", "First version")
	b.click("publish-submit")
	b.waitVisible("publish-done")
	if got := b.text("publish-done"); !strings.Contains(got, "Published version 1") {
		t.Fatalf("publish says %q", got)
	}
	b.screenshot("editor-published")
	vs, err := app.DB.ListVersions(context.Background(), id)
	if err != nil || len(vs) != 1 || vs[0].Note != "First version" {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
}

// TestBrowserEditorRefund opens the refund example: every node and edge is drawn, and a
// selected node's form shows its settings from the catalogue.
func TestBrowserEditorRefund(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	refund, err := os.ReadFile("../designer/testdata/refund-approval.json")
	if err != nil {
		t.Fatal(err)
	}
	id := createGraphIn(t, app, "Refund request", string(refund))
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	if n, e := b.nodeCount(), b.edgeCount(); n != 4 || e != 5 {
		t.Fatalf("%d nodes and %d edges, want 4 and 5", n, e)
	}
	for _, port := range []string{"approve", "reject"} {
		if !b.exists("port-review-" + port) {
			t.Errorf("the approval node has no %s port", port)
		}
	}
	b.screenshot("editor-refund")
	b.click("node-classify")
	b.waitVisible("node-form")
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.model"]').value`); got != "gpt-4o-mini" {
		t.Fatalf("model field = %q", got)
	}
	b.screenshot("editor-refund-selected")

	// Zoom with the buttons and the wheel.
	zoom := func() string { return b.text("tool-zoom-reset") }
	before := zoom()
	b.click("tool-zoom-in")
	b.waitJS("zoomed in", fmt.Sprintf(`document.querySelector('[data-testid="tool-zoom-reset"]').textContent !== %q`, before))
	c := evalJS[[]float64](b, `(() => { const r = document.getElementById("canvas").getBoundingClientRect(); return [r.left + 40, r.top + 40]; })()`)
	before = zoom()
	// CDP wants both deltas, and leaves out a zero one.
	b.do("wheel", chromedp.MouseEvent("mouseWheel", c[0], c[1], func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 0.01, 300 }))
	b.waitJS("zoomed out by the wheel", fmt.Sprintf(`document.querySelector('[data-testid="tool-zoom-reset"]').textContent !== %q`, before))

	// Select an edge by its label and give it a condition that does not compile.
	b.fitView()
	b.do("click the edge label", chromedp.Click(chromedp.CSS(`.edge-label[data-index="1"]`), chromedp.NodeVisible))
	b.waitVisible("edge-form")
	b.typeInto("edge-when", "input.amount <")
	b.waitSaved()
	b.waitJS("edge problem listed", `[...document.querySelectorAll('[data-testid="problem"]')].some((p) => p.textContent.includes("classify → auto"))`)
	if !evalJS[bool](b, `document.querySelector('[data-testid="edge-classify-out-auto"]').classList.contains("problem")`) {
		t.Fatal("the edge is not marked as having a problem")
	}
	b.typeInto("edge-when", "input.amount < 100")
	b.waitSaved()
	b.waitJS("edge problem gone", `document.querySelectorAll('[data-testid="problem"]').length === 0`)

	// Auto-layout loads dagre and lays the graph out left to right without overlaps.
	b.click("tool-layout")
	b.waitJS("laid out", `(() => { const m = window.trellisEditor.model; const x = (id) => m.node(id).position.x;
		return x("classify") < x("review") && x("review") < x("reply") && x("auto") < x("reply"); })()`)
	overlaps := evalJS[bool](b, `(() => { const m = window.trellisEditor.model; const ns = m.nodes;
		for (const a of ns) for (const c of ns) { if (a === c) continue; const p = m.pos(a), q = m.pos(c), s = m.size(a), t = m.size(c);
			if (p.x < q.x + t.w && q.x < p.x + s.w && p.y < q.y + t.h && q.y < p.y + s.h) return true; } return false; })()`)
	if overlaps {
		t.Fatal("nodes overlap after auto-layout")
	}
	b.screenshot("editor-refund-layout")
}

// clickWith clicks the middle of element id while holding modifiers.
func (b *browser) clickWith(id string, mods ...chromedp.Modifier) {
	b.t.Helper()
	c := evalJS[[]float64](b, fmt.Sprintf(`(() => { const r = document.querySelector('[data-testid=%q]').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, id))
	b.do("click "+id, chromedp.MouseClickXY(c[0], c[1], chromedp.ButtonModifiers(mods...)))
}

// activeTestID is the data-testid of the focused element.
func (b *browser) activeTestID() string {
	b.t.Helper()
	return evalJS[string](b, `document.activeElement ? (document.activeElement.getAttribute("data-testid") || "") : ""`)
}

// TestBrowserEditorKeyboard builds and changes a graph without the mouse: add from the
// palette with Enter, move between steps with Tab, connect with C, open the settings with
// Enter, delete with Delete.
func TestBrowserEditorKeyboard(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Keys", "")
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)

	b.do("focus the palette", chromedp.Focus(testID("palette-wait")))
	b.keys("\r")
	b.waitVisible("node-wait_1")
	if got := b.activeTestID(); got != "node-wait_1" {
		t.Fatalf("focus after adding = %q, want the new node", got)
	}
	b.do("focus the palette", chromedp.Focus(testID("palette-transform")))
	b.keys("\r")
	b.waitVisible("node-transform_1")
	if got := evalJS[string](b, `document.querySelector('[data-testid="node-transform_1"]').getAttribute("aria-label")`); got != "Transform (transform)" {
		t.Fatalf("aria-label = %q", got)
	}

	// Shift+Tab goes back to the first step, which selects it.
	b.keys("\t", chromedp.ModifierShift)
	if got := b.activeTestID(); got != "node-wait_1" {
		t.Fatalf("focus after Shift+Tab = %q", got)
	}
	b.waitJS("wait_1 selected", `document.querySelector('[data-testid="node-wait_1"]').getAttribute("aria-selected") === "true"`)

	// C opens the connect dialog; Enter connects to the first step listed.
	b.keys("c")
	b.waitVisible("connect-dialog")
	if got := evalJS[string](b, `document.querySelector('[data-testid="connect-target"]').value`); got != "transform_1" {
		t.Fatalf("connect target = %q", got)
	}
	b.keys("\r")
	b.waitJS("edge by keyboard", `document.querySelector('[data-testid="edge-wait_1-out-transform_1"]') !== null`)
	if got := b.activeTestID(); got != "node-wait_1" {
		t.Fatalf("focus after connecting = %q, want the source step", got)
	}

	// Enter opens the settings with the focus in the form; Escape goes back to the step.
	b.keys("\r")
	b.waitJS("focus in the form", `document.activeElement && document.activeElement.dataset.path === "label"`)
	b.typeInto("input-label", "Pause")
	b.waitJS("label on the canvas", `document.querySelector('[data-testid="node-wait_1"] .node-label').textContent === "Pause"`)
	b.keys("s", chromedp.ModifierCtrl) // save now, from inside the form
	b.waitSaved()
	if g, err := app.DB.GetGraph(context.Background(), id); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(string(g.Draft), `"Pause"`) {
		t.Fatalf("draft after Ctrl+S = %s", g.Draft)
	}
	b.keys(kb.Escape)
	if got := b.activeTestID(); got != "node-wait_1" {
		t.Fatalf("focus after Escape = %q", got)
	}

	// Arrows nudge; Delete deletes the focused, selected step and its edge.
	x := evalJS[float64](b, `window.trellisEditor.model.node("wait_1").position.x`)
	b.keys(kb.ArrowRight)
	if got := evalJS[float64](b, `window.trellisEditor.model.node("wait_1").position.x`); got != x+10 {
		t.Fatalf("x after ArrowRight = %v, want %v", got, x+10)
	}
	b.keys(kb.Delete)
	b.waitJS("deleted", `document.querySelector('[data-testid="node-wait_1"]') === null`)
	if b.edgeCount() != 0 {
		t.Fatal("the edge of the deleted step is still there")
	}
	b.waitSaved()
	g, err := app.DB.GetGraph(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(g.Draft), "wait_1") || !strings.Contains(string(g.Draft), "transform_1") {
		t.Fatalf("stored draft = %s", g.Draft)
	}
}

// TestBrowserEditorSelectCopyPaste: shift-click and a rubber band select several steps;
// Ctrl+C and Ctrl+V copy them with fresh ids, and the copies read each other, not the
// originals.
func TestBrowserEditorSelectCopyPaste(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	refund, err := os.ReadFile("../designer/testdata/refund-approval.json")
	if err != nil {
		t.Fatal(err)
	}
	id := createGraphIn(t, app, "Refund request", string(refund))
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)

	b.click("node-auto")
	b.clickWith("node-reply", chromedp.ModifierShift)
	b.waitVisible("multi-form")
	if got := evalJS[int](b, `window.trellisEditor.sel.nodes.size`); got != 2 {
		t.Fatalf("%d selected after shift-click", got)
	}

	b.keys("c", chromedp.ModifierCtrl)
	b.keys("v", chromedp.ModifierCtrl)
	b.waitVisible("node-auto_1")
	b.waitVisible("node-reply_1")
	if got := evalJS[string](b, `window.trellisEditor.model.node("reply_1").config.prompt`); !strings.Contains(got, "nodes.auto_1.output") || !strings.Contains(got, "nodes.review.output") {
		t.Fatalf("pasted prompt = %q, want it to read auto_1 (copied) and review (not copied)", got)
	}
	if !b.exists("edge-auto_1-out-reply_1") {
		t.Fatal("the edge between the copies was not pasted")
	}
	if got := evalJS[int](b, `window.trellisEditor.sel.nodes.size`); got != 2 {
		t.Fatalf("%d selected after paste, want the 2 copies", got)
	}

	// A rubber band (Shift+drag on the background) around classify and review.
	rect := evalJS[[]float64](b, `(() => { const a = document.querySelector('[data-testid="node-classify"]').getBoundingClientRect();
		const r = document.querySelector('[data-testid="node-review"]').getBoundingClientRect();
		return [a.left - 12, Math.min(a.top, r.top) - 12, r.right + 8, Math.max(a.bottom, r.bottom) + 8]; })()`)
	b.do("rubber band",
		chromedp.MouseEvent("mousePressed", rect[0], rect[1], chromedp.ButtonLeft, chromedp.ButtonModifiers(chromedp.ModifierShift)),
		chromedp.MouseEvent("mouseMoved", (rect[0]+rect[2])/2, (rect[1]+rect[3])/2, chromedp.ButtonLeft, chromedp.ButtonModifiers(chromedp.ModifierShift)),
		chromedp.MouseEvent("mouseMoved", rect[2], rect[3], chromedp.ButtonLeft, chromedp.ButtonModifiers(chromedp.ModifierShift)),
		chromedp.MouseEvent("mouseReleased", rect[2], rect[3], chromedp.ButtonLeft, chromedp.ButtonModifiers(chromedp.ModifierShift)))
	b.waitJS("band selection", `(() => { const s = window.trellisEditor.sel.nodes; return s.has("classify") && s.has("review"); })()`)
	b.screenshot("editor-multi-select")

	// A kind dragged from the palette lands where it is dropped.
	b.do("drag from the palette", chromedp.DragAndDrop(testID("palette-wait"), testID("canvas")))
	b.waitVisible("node-wait_1")
	drop := evalJS[[]float64](b, `(() => { const h = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
		const n = document.querySelector('[data-testid="node-wait_1"]').getBoundingClientRect();
		return [h.left + h.width / 2, h.top + h.height / 2, n.left, n.right, n.top, n.bottom]; })()`)
	if drop[0] < drop[2] || drop[0] > drop[3] || drop[1] < drop[4] || drop[1] > drop[5] {
		t.Fatalf("dropped at (%v, %v) but the node is at x %v–%v, y %v–%v", drop[0], drop[1], drop[2], drop[3], drop[4], drop[5])
	}
}

// TestBrowserEditorConflict: a draft saved elsewhere stops autosave with a conflict, and
// "Overwrite" saves the editor's draft over it.
func TestBrowserEditorConflict(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Conflict", "")
	b := newBrowser(t, app)
	b.login("ada", testPassword)
	b.openEditor(id)

	// Another tab saves first.
	g, err := app.DB.GetGraph(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	other := `{"format":"trellis.graph/v1","name":"Conflict","nodes":[{"id":"theirs","kind":"wait","config":{"duration":"1m"}}],"edges":[]}`
	if _, err := app.DB.SaveDraft(context.Background(), id, []byte(other), "", g.DraftRevision, "bob"); err != nil {
		t.Fatal(err)
	}

	b.click("palette-wait")
	b.waitJS("conflict", `document.querySelector('[data-testid="save-status"]').dataset.state === "conflict"`)
	b.allowConsoleErrors("409")
	if got := b.text("save-status"); got != "Conflict — reload" {
		t.Fatalf("status = %q", got)
	}
	b.waitVisible("conflict-reload")
	b.screenshot("editor-conflict")
	b.click("conflict-overwrite")
	b.waitSaved()
	g, err = app.DB.GetGraph(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(g.Draft), `"wait_1"`) || strings.Contains(string(g.Draft), "theirs") {
		t.Fatalf("draft after overwrite = %s", g.Draft)
	}
	if b.exists("conflict-reload") && evalJS[bool](b, `!document.querySelector('[data-testid="editor-alert"]').hidden`) {
		t.Fatal("the conflict message is still shown")
	}
}

// TestBrowserEditorPublishRefused: publishing a draft with problems lists them in the dialog.
func TestBrowserEditorPublishRefused(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Broken","nodes":[{"id":"t","kind":"transform","config":{"value":"input.x +"}}],"edges":[]}`
	id := createGraphIn(t, app, "Broken", doc)
	b := newBrowser(t, app)
	b.login("ada", testPassword)
	b.openEditor(id)
	if got := b.text("problem-count"); got != "1 problem" {
		t.Fatalf("problem count = %q", got)
	}
	b.click("publish-open")
	b.waitVisible("publish-dialog")
	b.click("publish-submit")
	b.waitVisible("publish-problems")
	b.allowConsoleErrors("422")
	if got := b.text("publish-problems"); !strings.Contains(got, "t · config.value") {
		t.Fatalf("problems in the dialog = %q", got)
	}
	b.screenshot("editor-publish-refused")
	if vs, _ := app.DB.ListVersions(context.Background(), id); len(vs) != 0 {
		t.Fatalf("versions = %v", vs)
	}
	// The problem in the list selects the node and opens its form.
	b.click("publish-close")
	b.click("problem")
	b.waitJS("node selected from the list", `document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "t"`)
}

// blockDrafts makes the browser fail (or again send) requests that save drafts, as a lost
// connection would.
func (b *browser) blockDrafts(block bool) {
	b.t.Helper()
	var patterns []*network.BlockPattern
	if block {
		patterns = []*network.BlockPattern{{URLPattern: "*://*:*/api/v1/graphs/*/draft", Block: true}}
	}
	b.do("block drafts", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
		return err
	}))
}

// TestBrowserEditorOffline: a save that cannot reach the server says so and is retried
// until it gets through.
func TestBrowserEditorOffline(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Offline", "")
	b := newBrowser(t, app)
	b.login("ada", testPassword)
	b.openEditor(id)

	b.blockDrafts(true)
	b.click("palette-llm")
	b.waitJS("offline", `document.querySelector('[data-testid="save-status"]').dataset.state === "offline"`)
	if got := b.text("save-status"); got != "Offline — retrying" {
		t.Fatalf("status = %q", got)
	}
	if !evalJS[bool](b, `window.trellisEditor.saver.dirty`) {
		t.Fatal("the editor forgot that it has unsaved changes")
	}
	b.blockDrafts(false)
	b.waitSaved()
	b.allowConsoleErrors("ERR_BLOCKED_BY_CLIENT")
	g, err := app.DB.GetGraph(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(g.Draft), `"llm_1"`) {
		t.Fatalf("draft after the retry = %s", g.Draft)
	}
}
