package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trellis/engine"
)

// TestBrowserInboxDecision: a reviewer signs in, sees the count in the navigation, opens the
// task from the inbox, fills in the form and approves; the run completes along approve.
func TestBrowserInboxDecision(t *testing.T) {
	requireChromium(t)
	app := newEngineApp(t)
	runID := app.startRefund(120)
	app.waitTask(runID)
	app.member("rita", "finance")
	// Tasks of other runs, so the inbox has company: one overdue, one for another group.
	app.addTask("run-other-1", "user:rita", 30*time.Minute)
	app.addTask("run-other-2", "group:finance", 72*time.Hour)
	app.addTask("run-other-3", "group:ops", 0)
	app.Clock.Advance(time.Hour)

	b := newBrowser(t, app.testApp)
	b.login("rita", testPassword)
	b.do("nav count", chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-inbox-count"][data-count="3"]`)))
	b.click("nav-inbox")
	b.waitVisible("inbox-table")
	if got := b.text("inbox-count-mine"); got != "1" {
		t.Errorf("mine count = %q", got)
	}
	b.screenshot("inbox-mine")
	b.click("inbox-tab-groups")
	b.waitVisible("inbox-table")
	b.screenshot("inbox-groups")

	task := app.waitTask(runID)
	b.do("open task", chromedp.Click(chromedp.CSS(`[data-testid="inbox-row-`+task.ID+`"] a`), chromedp.NodeVisible))
	b.waitVisible("task-form")
	if got := b.text("task-title"); got != "Refund 120 EUR to Ada" {
		t.Errorf("title = %q", got)
	}
	if got := b.text("task-instructions"); got != "Check Ada: risk low." {
		t.Errorf("instructions = %q", got)
	}
	b.screenshot("task")

	b.fill("task-input-amount", "80")
	b.click("task-input-urgent")
	b.do("category", chromedp.SetValue(testID("task-input-category"), `"goodwill"`))
	// An empty textarea has nothing for fill to clear.
	b.do("comment", chromedp.SendKeys(testID("task-comment-input"), "Loyal customer"))
	b.click("task-outcome-approve")
	b.waitVisible("task-decision")
	if got := b.text("task-decided-by"); got != "rita" {
		t.Errorf("decided by %q", got)
	}
	if !strings.Contains(b.text("task-data"), "goodwill") || b.text("task-comment") != "Loyal customer" {
		t.Errorf("decision shows %q / %q", b.text("task-data"), b.text("task-comment"))
	}
	b.screenshot("task-decided")

	run := app.waitRun(runID)
	if run.Status != engine.RunCompleted || toJSONString(run.Output) != `{"pay":"paid 80"}` {
		t.Errorf("run = %s %s", run.Status, toJSONString(run.Output))
	}
	out := toJSONString(run.Nodes["review"].Output)
	for _, want := range []string{`"decided_by":"rita"`, `"urgent":true`, `"category":"goodwill"`, `"comment":"Loyal customer"`} {
		if !strings.Contains(out, want) {
			t.Errorf("review output %s lacks %s", out, want)
		}
	}
	// The count follows: two open tasks are left for rita.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rita, err := app.DB.UserByName(ctx, "rita")
	if err != nil {
		t.Fatal(err)
	}
	if counts, err := app.DB.CountOpen(ctx, rita); err != nil || counts.Total() != 2 {
		t.Errorf("open tasks left = %+v, %v", counts, err)
	}
	b.open("/inbox")
	b.do("nav count after", chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-inbox-count"][data-count="2"]`)))
}

// TestBrowserInboxOpensOnGroupTask: a reviewer whose only task waits in their group sees it as
// soon as the inbox opens, named by its graph; the Mine tab says where the task is.
func TestBrowserInboxOpensOnGroupTask(t *testing.T) {
	requireChromium(t)
	app, _ := newTaskApp(t, false)
	app.member("gus", "finance")
	if _, err := app.DB.CreateGraph(t.Context(), "Refund", nil, "ana"); err != nil {
		t.Fatal(err)
	}
	task := app.addTask("run-g", "group:finance", 0)

	b := newBrowser(t, app)
	b.login("gus", testPassword)
	b.click("nav-inbox")
	b.waitVisible("inbox-row-" + task.ID)
	if b.exists("inbox-empty") {
		t.Error("the inbox opens on an empty tab while a task waits in the group")
	}
	if got := evalJS[string](b, `document.querySelector('[data-testid^="inbox-tab-"][aria-current="page"]').dataset.testid`); got != "inbox-tab-open" {
		t.Errorf("current tab = %q", got)
	}
	if got := b.text("inbox-graph-name"); got != "Refund v2" {
		t.Errorf("graph cell = %q", got)
	}
	b.screenshot("inbox-open")

	b.click("inbox-tab-mine")
	b.waitVisible("inbox-empty")
	if got := b.text("inbox-empty"); !strings.Contains(got, "Your groups have 1 open task") {
		t.Errorf("empty Mine tab says %q", got)
	}
	b.click("inbox-empty-groups")
	b.waitVisible("inbox-row-" + task.ID)
}
