package web

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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
