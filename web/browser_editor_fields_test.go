package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/store"
)

// Browser tests of what the side panel does with what the user types: a transform's value as
// an expression or as fixed JSON, its preview with the last run, and text that is not valid
// yet, which is kept and reported instead of being dropped.

// selectNode clicks a node and waits for its settings form.
func (b *browser) selectNode(id string) {
	b.t.Helper()
	b.click("node-" + id)
	b.waitJS("form of "+id, `document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "`+id+`"`)
}

// saveStatus is the save status as shown, and its state.
func (b *browser) saveStatus() (string, string) {
	b.t.Helper()
	s := evalJS[[]string](b, `(() => { const e = document.querySelector('[data-testid="save-status"]'); return [e.textContent.trim(), e.dataset.state]; })()`)
	return s[0], s[1]
}

// draftNode is node id of the draft stored on the server, as JSON.
func draftNode(t *testing.T, app *testApp, graphID, id string) map[string]any {
	t.Helper()
	g, err := app.DB.GetGraph(context.Background(), graphID)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Nodes []map[string]any `json:"nodes"`
	}
	if err := json.Unmarshal(g.Draft, &doc); err != nil {
		t.Fatalf("stored draft %s: %v", g.Draft, err)
	}
	for _, n := range doc.Nodes {
		if n["id"] == id {
			return n
		}
	}
	t.Fatalf("stored draft has no node %s: %s", id, g.Draft)
	return nil
}

func storedValue(t *testing.T, app *testApp, graphID, id string) any {
	t.Helper()
	cfg, _ := draftNode(t, app, graphID, id)["config"].(map[string]any)
	return cfg["value"]
}

// TestBrowserEditorTransformValue (issue 11, item 1): the value's hint shows an expression, and
// typing exactly that is accepted and saved, with no problem; a visible switch makes it fixed
// JSON with {{ }} templates, stored as the JSON it is; the mode survives a reload; and the
// preview evaluates the value with the data of the graph's last run.
func TestBrowserEditorTransformValue(t *testing.T) {
	app, rc := newRunApp(t)
	api := app.api("ada", store.RoleAnalyst)
	const doc = `{"format":"trellis.graph/v1","name":"Totals","nodes":[
		{"id":"double","kind":"transform","position":{"x":0,"y":0},"config":{"value":"input.amount * 2"}},
		{"id":"total","kind":"transform","position":{"x":320,"y":0},"config":{"value":%s}}],
		"edges":[{"from":"double","to":"total"}]}`
	id := api.createGraph("Totals", fmt.Sprintf(doc, `"1"`))
	api.publish(id, "v1")
	api.saveDraft(id, fmt.Sprintf(doc, "null")) // in the draft, total has no value yet
	runID := api.startRun(id, map[string]any{"amount": 21})
	rc.waitRun(t, runID, "it ends", runEnded)

	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.selectNode("total")

	// Expression is the mode of an empty value, and the hint's own example is accepted.
	if !evalJS[bool](b, `document.querySelector('[data-testid="mode-config.value-expression"]').checked`) {
		t.Fatal("an empty value does not start as an expression")
	}
	hint := evalJS[string](b, `document.getElementById("nf-config-value-hint").textContent`)
	const example = "{ total: input.amount * 2 }"
	if !strings.Contains(hint, example) {
		t.Fatalf("hint = %q, want the example %q", hint, example)
	}
	b.typeInto("input-config.value", example)
	b.waitSaved()
	b.waitJS("no problems", `document.querySelectorAll('[data-testid="problem"]').length === 0`)
	if b.exists("error-config.value") && evalJS[bool](b, `!document.querySelector('[data-testid="error-config.value"]').hidden`) {
		t.Fatalf("the hint's example is refused: %q", b.text("error-config.value"))
	}
	if got := storedValue(t, app, id, "total"); got != example {
		t.Fatalf("stored value = %#v, want the expression as a string", got)
	}
	if text, _ := b.saveStatus(); text != "Saved" {
		t.Fatalf("status = %q", text)
	}

	// The preview evaluates it with the last run's data: input.amount was 21.
	b.click("value-preview-run")
	b.waitVisible("value-preview-json")
	if got := b.text("value-preview-json"); !strings.Contains(got, `"total": 42`) {
		t.Fatalf("preview = %q", got)
	}
	if got := b.text("value-preview"); !strings.Contains(got, runID) {
		t.Fatalf("the preview does not say which run it used: %q", got)
	}
	b.screenshot("editor-value-preview")

	// Fixed JSON: the switch is visible; templates in its texts work, also in the preview.
	b.click("mode-config.value-json")
	b.typeInto("input-config.value", `{"line": "Twice: {{ nodes.double.output }}", "n": "{{ nodes.double.output }}"}`)
	b.waitSaved()
	got, ok := storedValue(t, app, id, "total").(map[string]any)
	if !ok || got["line"] != "Twice: {{ nodes.double.output }}" {
		t.Fatalf("stored value = %#v, want the JSON object", storedValue(t, app, id, "total"))
	}
	b.click("value-preview-run")
	b.waitJS("preview of the fixed value", `(document.querySelector('[data-testid="value-preview-json"]')?.textContent || "").includes("Twice: 42")`)

	// After a reload the field opens in the mode of what is stored.
	b.openEditor(id)
	b.selectNode("total")
	if !evalJS[bool](b, `document.querySelector('[data-testid="mode-config.value-json"]').checked`) {
		t.Fatal("a fixed value does not open in the JSON mode")
	}
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.value"]').value`); !strings.Contains(got, `"line": "Twice: {{ nodes.double.output }}"`) {
		t.Fatalf("field after reload = %q", got)
	}
	// The expression of the other node shows as written, without JSON quotes.
	b.selectNode("double")
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.value"]').value`); got != "input.amount * 2" {
		t.Fatalf("expression shown as %q", got)
	}
}

// TestBrowserEditorInvalidTextKept (issue 11, item 2): text that is not valid yet is never
// thrown away. A transform's value is kept in the draft as typed and reported (the status says
// "Saved with 1 problem", the list names the real problem, and the text is there on return).
// Text the draft cannot hold (an http body that is not JSON yet) stays in the editor, the status
// says "Unsaved", and leaving by the breadcrumb asks first.
func TestBrowserEditorInvalidTextKept(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Kept","nodes":[
		{"id":"t","kind":"transform","position":{"x":0,"y":0},"config":{"value":"1"}},
		{"id":"h","kind":"http","position":{"x":0,"y":160},"config":{"method":"POST","url":"https://example.test/x","body":{"a":1}}}],"edges":[]}`
	id := createGraphIn(t, app, "Kept", doc)
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)

	// Fixed JSON that is not JSON yet: shown beside the field, kept in the draft, counted.
	b.selectNode("t")
	b.click("mode-config.value-json")
	const broken = `{"total": `
	b.typeInto("input-config.value", broken)
	b.waitVisible("error-config.value")
	if got := b.text("error-config.value"); !strings.Contains(got, "not valid JSON") {
		t.Fatalf("inline error = %q", got)
	}
	b.waitSaved()
	b.waitJS("saved with a problem", `document.querySelector('[data-testid="save-status"]').textContent.trim() === "Saved with 1 problem"`)
	list := evalJS[[]string](b, `[...document.querySelectorAll('[data-testid="problem"]')].map((p) => p.textContent)`)
	if len(list) != 1 || !strings.Contains(list[0], "not valid JSON") || strings.Contains(list[0], "required") {
		t.Fatalf("problems = %q, want the one of the text typed", list)
	}
	if got := storedValue(t, app, id, "t"); got != broken {
		t.Fatalf("stored value = %#v, want the text as typed", got)
	}

	// Away to the other node and back: the text, its mode and its problem are still there.
	b.selectNode("h")
	b.selectNode("t")
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.value"]').value`); got != broken {
		t.Fatalf("on return the field holds %q", got)
	}
	if !evalJS[bool](b, `document.querySelector('[data-testid="mode-config.value-json"]').checked`) {
		t.Fatal("on return the field is no longer in the JSON mode")
	}
	b.waitVisible("error-config.value")

	// An http body that is not JSON yet cannot go into the draft as typed (a text body is a
	// different thing): the editor keeps it, says "Unsaved" and warns before leaving.
	b.selectNode("h")
	b.typeInto("input-config.body", `{"a": `)
	b.waitVisible("error-config.body")
	b.waitJS("unsaved", `document.querySelector('[data-testid="save-status"]').dataset.state === "unsaved"`)
	if text, _ := b.saveStatus(); text != "Unsaved" {
		t.Fatalf("status = %q", text)
	}
	if !evalJS[bool](b, `window.trellisEditor.hasUnsaved()`) {
		t.Fatal("the editor does not know it has unsaved text (beforeunload would not warn)")
	}
	b.selectNode("t")
	b.selectNode("h")
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.body"]').value`); got != `{"a": ` {
		t.Fatalf("on return the body holds %q", got)
	}

	b.click("crumb-graphs")
	b.waitVisible("leave-dialog")
	if got := b.text("leave-list"); !strings.Contains(got, "h · config.body") {
		t.Fatalf("the warning lists %q", got)
	}
	b.screenshot("editor-leave-warning")
	b.click("leave-stay")
	b.do("dialog closed", chromedp.WaitNotVisible(testID("leave-dialog")))
	if p := b.path(); p != "/graphs/"+id+"/edit" {
		t.Fatalf("staying went to %s", p)
	}

	// Fixed, it is saved, and the breadcrumb leaves without asking.
	b.typeInto("input-config.body", `{"a": 2}`)
	b.do("body error gone", chromedp.WaitNotVisible(testID("error-config.body")))
	b.selectNode("t")
	b.typeInto("input-config.value", `{"total": 3}`)
	b.waitSaved()
	if text, _ := b.saveStatus(); text != "Saved" {
		t.Fatalf("status after fixing = %q", text)
	}
	b.click("crumb-graphs")
	b.waitVisible("graph-create-form")
	if p := b.path(); p != "/graphs" {
		t.Fatalf("the breadcrumb went to %s", p)
	}
	body, _ := draftNode(t, app, id, "h")["config"].(map[string]any)
	if a, _ := body["body"].(map[string]any); a == nil || a["a"] != float64(2) {
		t.Fatalf("stored body = %#v", body["body"])
	}
}

// TestBrowserEditorLeaveUnsaved: with unsaved text, "Leave anyway" leaves.
func TestBrowserEditorLeaveUnsaved(t *testing.T) {
	app := newEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Leave","nodes":[{"id":"h","kind":"http","config":{"url":"https://example.test/x"}}],"edges":[]}`
	id := createGraphIn(t, app, "Leave", doc)
	b := newBrowser(t, app)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.selectNode("h")
	b.typeInto("input-config.body", `[1, `)
	b.waitJS("unsaved", `document.querySelector('[data-testid="save-status"]').dataset.state === "unsaved"`)
	b.click("crumb-graphs")
	b.waitVisible("leave-dialog")
	b.click("leave-confirm")
	b.waitVisible("graph-create-form")
	if p := b.path(); p != "/graphs" {
		t.Fatalf("leaving went to %s", p)
	}
}
