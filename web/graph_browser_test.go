package web

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"trellis/store"
)

// TestBrowserGraphDiff opens a graph's versions, compares version 1 with version 2, and sees
// the changed, added and removed nodes coloured on the drawing.
func TestBrowserGraphDiff(t *testing.T) {
	requireChromium(t)
	doc, err := os.ReadFile("../cmd/trellis/samples/refund-approval.json")
	if err != nil {
		t.Fatal(err)
	}
	v1 := string(doc)
	// Version 2: the reviewer gets 48h instead of 72h, the automatic path is replaced by a
	// notification step.
	v2 := strings.NewReplacer(`"due": "72h"`, `"due": "48h"`,
		`{"id": "auto", "kind": "transform", "label": "Small amount: approve"`, `{"id": "notify", "kind": "transform", "label": "Approve and notify"`,
		`"to": "auto"`, `"to": "notify"`, `{"from": "auto", "to": "reply"}`, `{"from": "notify", "to": "reply"}`,
		`nodes.auto.output`, `nodes.notify.output`).Replace(v1)

	app := newGraphApp(t, &recordingStarter{})
	api := app.api("api", store.RoleAnalyst)
	id := api.createGraph("Refund request", v1)
	api.publish(id, "First version")
	api.saveDraft(id, v2)
	api.publish(id, "Shorter deadline, notify on small refunds")
	app.user("ana", store.RoleAnalyst)

	b := newBrowser(t, app)
	b.login("ana", testPassword)
	b.open("/graphs")
	b.waitVisible("graph-table")
	b.screenshot("graphs-list")
	b.click("graph-more-" + id)
	b.waitVisible("graph-rename-form-" + id)
	b.screenshot("graphs-list-menu")
	b.click("graph-link-" + id)
	b.waitVisible("version-table")
	b.waitVisible("node-review")
	b.screenshot("graph-overview")

	// Compare version 1 with the next one (selected by default).
	b.click("compare-1")
	b.waitVisible("graph-diff")
	if got := b.path(); got != "/graphs/"+id+"/diff?from=1&to=2" {
		t.Fatalf("path = %q", got)
	}
	b.waitVisible("node-review")
	classes := browserRun(b, "node classes", chromedp.Evaluate[[]string](`["review", "notify", "auto", "classify"].map(
		id => document.querySelector('[data-testid="node-' + id + '"]').getAttribute("class"))`))
	for i, want := range []string{"diff-changed", "diff-added", "diff-removed", ""} {
		if want == "" && strings.Contains(classes[i], "diff-") || want != "" && !strings.Contains(classes[i], want) {
			t.Errorf("node %d classes = %q, want %q", i, classes[i], want)
		}
	}
	// The highlight is visible: the changed node's box is drawn in amber.
	stroke := browserRun(b, "stroke", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-testid="node-review"] .gnode-box')).stroke`))
	if stroke != "rgb(217, 119, 6)" {
		t.Errorf("changed node stroke = %q", stroke)
	}
	if !strings.Contains(b.text("diff-changed-review"), "config.due") {
		t.Errorf("field changes of review: %q", b.text("diff-changed-review"))
	}
	b.screenshot("graph-diff")

	// Choosing another side with the select updates the page (htmx) and the address.
	b.do("choose draft", chromedp.SetValue(chromedp.CSS(`#diff-to`), "draft"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#diff-to").dispatchEvent(new Event("change", {bubbles: true}))`))
	b.do("wait for the new diff", chromedp.WaitVisible(chromedp.Search(`//p[@data-testid="diff-summary"][contains(., "the draft")]`)))
	if got := b.path(); got != "/graphs/"+id+"/diff?from=1&to=draft" {
		t.Errorf("path after choosing = %q", got)
	}
	wantStatus(t, app.client().get("/graphs/"+id+"/diff"), http.StatusSeeOther) // still needs sign-in

	// The start-run form of version 1, from the version page.
	b.open("/graphs/" + id + "/versions/1")
	b.waitVisible("version-run")
	b.screenshot("graph-version")
	b.fill("run-input-customer", "ada@example.com")
	b.click("run-submit")
	b.waitVisible("input-amount-error")
	if b.exists("input-customer-error") || !b.exists("input-message-error") {
		t.Error("the inline errors are not where the input is missing")
	}
	if v := browserRun(b, "kept value", chromedp.Evaluate[string](`document.querySelector('[data-testid="run-input-customer"]').value`)); v != "ada@example.com" {
		t.Errorf("the form lost the customer: %q", v)
	}
	b.allowConsoleErrors("status of 422") // the form answers 422, which chromium logs
	b.screenshot("graph-run-errors")
}

// TestBrowserGraphPublishImportAndNarrow: publishing is off, with the reason, for a draft
// identical to the latest version; a JSON file that is not a graph is refused with the
// reason; Escape closes the list's More menu; at 800 px the list and the versions table fit
// their boxes, actions and all.
func TestBrowserGraphPublishImportAndNarrow(t *testing.T) {
	requireChromium(t)
	app := newGraphApp(t, &recordingStarter{})
	api := app.api("api", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	api.publish(id, "First version, with a note long enough to need several lines in a narrow table: it names every change and why it was made.")
	api.saveDraft(id, greetDocV2)
	api.publish(id, "Second")
	for i := 0; i < 3; i++ {
		api.createGraph("A graph with a rather long name to fill the list's first column", "")
	}
	app.user("ana", store.RoleAnalyst)

	b := newBrowser(t, app)
	b.login("ana", testPassword)
	b.open("/graphs/" + id)
	b.waitVisible("publish-unchanged")
	if got := b.text("publish-unchanged"); !strings.Contains(got, "No changes since version 2") {
		t.Errorf("publish note = %q", got)
	}
	if !evalJS[bool](b, `document.querySelector('[data-testid="publish-submit"]').disabled`) {
		t.Error("publish is offered for a draft identical to version 2")
	}

	// Import a JSON file that is not a graph.
	file := filepath.Join(t.TempDir(), "hello.json")
	if err := os.WriteFile(file, []byte(`{"hello": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	b.open("/graphs")
	b.click("graph-import-open")
	b.do("choose file", chromedp.SetUploadFiles(testID("graph-import-file"), []string{file}, chromedp.NodeVisible))
	b.click("graph-import-submit")
	b.waitVisible("graph-import-error")
	if got := b.text("graph-import-error"); !strings.Contains(got, `This file is not a Trellis graph: it has no "format"`) {
		t.Errorf("import refusal = %q", got)
	}
	b.allowConsoleErrors("status of 422")
	if list, err := app.DB.ListGraphs(t.Context()); err != nil || len(list) != 4 {
		t.Fatalf("graphs after the refused import: %d, %v", len(list), err)
	}

	// Escape closes the More menu and gives focus back to its button.
	b.open("/graphs")
	b.click("graph-more-" + id)
	b.waitVisible("graph-rename-form-" + id)
	b.keys(kb.Escape)
	b.waitJS("menu closes", fmt.Sprintf(`!document.querySelector('[data-testid="graph-more-%s"]').closest("details").open`, id))
	if got := evalJS[string](b, `document.activeElement.getAttribute("data-testid")`); got != "graph-more-"+id {
		t.Errorf("focus after Escape on %q", got)
	}

	// 800 px: nothing scrolls sideways, and the tables fit their boxes.
	b.viewport(800, 900)
	fits := func(page, wrap string) {
		t.Helper()
		b.open(page)
		b.waitVisible(wrap)
		if got := evalJS[[]float64](b, `[document.documentElement.scrollWidth, window.innerWidth]`); got[0] > got[1] {
			t.Errorf("%s scrolls sideways at 800 px: %v wide in %v", page, got[0], got[1])
		}
		sel := fmt.Sprintf(`document.querySelector('[data-testid=%q]').parentElement`, wrap)
		if got := evalJS[[]float64](b, `[`+sel+`.scrollWidth, `+sel+`.clientWidth]`); got[0] > got[1] {
			t.Errorf("%s: the table is %v wide in a box of %v", page, got[0], got[1])
		}
	}
	fits("/graphs", "graph-table")
	b.screenshot("graphs-800")
	fits("/graphs/"+id, "version-table")
	b.screenshot("graph-overview-800")
	// Retire is shown inside the box, and the note reads in lines, not fragments.
	inside := evalJS[bool](b, `(() => {
		const r = document.querySelector('[data-testid="version-retire-1"]').getBoundingClientRect();
		const w = document.querySelector('[data-testid="version-table"]').parentElement.getBoundingClientRect();
		return r.width > 0 && r.left >= w.left && r.right <= w.right;
	})()`)
	if !inside {
		t.Error("Retire is clipped at 800 px")
	}
	if w := evalJS[float64](b, `document.querySelector('[data-testid="version-row-1"] .version-note').getBoundingClientRect().width`); w < 150 {
		t.Errorf("the note column is %v px wide at 800 px", w)
	}
	// On a wide screen, every page has the same width, and the header lines up with it.
	b.viewport(1600, 900)
	var first []float64
	for _, page := range []string{"/graphs", "/graphs/" + id, "/graphs/" + id + "/versions/1", "/"} {
		b.open(page)
		b.waitVisible("brand")
		got := evalJS[[]float64](b, `[document.querySelector('[data-testid="brand"]').getBoundingClientRect().left,
			document.querySelector('.site-header-bar').getBoundingClientRect().width,
			document.querySelector('main').getBoundingClientRect().left,
			document.querySelector('main').getBoundingClientRect().width]`)
		if first == nil {
			first = got
		}
		if fmt.Sprint(got) != fmt.Sprint(first) {
			t.Errorf("%s: brand at %v, bar %v wide, page at %v and %v wide; on /graphs: %v", page, got[0], got[1], got[2], got[3], first)
		}
	}
	if first[1] != first[3] {
		t.Errorf("the header bar is %v wide, the page %v", first[1], first[3])
	}
}
