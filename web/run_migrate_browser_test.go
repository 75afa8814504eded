package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trellis/engine"
	"trellis/store"
)

// TestBrowserMoveWaitingRun: a developer opens a run waiting at its approval, follows "Move
// to a newer version", sees the preview say it can move, moves it, and the run page says it
// moved from v1 to v2; its task is the same, now on v2.
func TestBrowserMoveWaitingRun(t *testing.T) {
	requireChromium(t)
	app := newEngineApp(t)
	id := app.startRefund(3)
	task := app.waitTask(id)
	ana := app.api("ana", store.RoleAnalyst)
	wantStatus(t, ana.send(http.MethodPut, "/graphs/refund/draft", refundV2Doc), http.StatusOK)
	wantStatus(t, ana.send(http.MethodPost, "/graphs/refund/versions", map[string]any{"note": "audit"}), http.StatusCreated)

	app.api("dev", store.RoleDeveloper)
	b := newBrowser(t, app.testApp)
	b.login("dev", testPassword)
	b.open("/runs/" + id)
	b.waitVisible("run-move")
	b.click("run-move")
	b.waitVisible("migrate-compatible")
	browserRun(b, "accept confirmations", chromedp.Evaluate[bool]("(window.confirm = function () { return true; }, true)"))
	b.click("migrate-submit")
	b.waitVisible("run-operations")
	if got := b.text("run-operations"); !strings.Contains(got, "moved from v1 to v2 by dev") {
		t.Errorf("operations = %q", got)
	}
	b.screenshot("run-moved")
	run, err := app.eng.GetRun(context.Background(), id)
	if err != nil || run.Version != 2 || run.Status != engine.RunWaiting {
		t.Fatalf("run after the move = %+v, %v", run, err)
	}
	if tk, err := app.DB.GetTaskByNode(context.Background(), id, "review"); err != nil || tk.ID != task.ID || tk.Version != 2 {
		t.Errorf("task after the move = %+v, %v", tk, err)
	}
}
