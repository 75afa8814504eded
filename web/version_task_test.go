package web

import (
	"net/http"
	"strings"
	"testing"

	"trellis/store"
)

// TestTaskVersionDrift: a task on version 1 says nothing while the latest version differs
// only upstream of its step, and names the changed step with a link to the diff once a
// step after it changes.
func TestTaskVersionDrift(t *testing.T) {
	app := newEngineApp(t)
	runID := app.startRefund(7)
	task := app.waitTask(runID)
	ana := app.api("ana", store.RoleAnalyst)
	bob := app.memberClient("bob", "finance")

	ana.saveDraft("refund", strings.Replace(refundGraphDoc, "risk: 'low'", "risk: 'high'", 1))
	ana.publish("refund", "upstream only")
	page := bob.get("/tasks/" + task.ID)
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.Body, `data-testid="task-version-drift"`) {
		t.Fatalf("a change upstream of the step is flagged:\n%s", page.Body)
	}

	ana.saveDraft("refund", strings.Replace(refundGraphDoc, "'paid '", "'refunded '", 1))
	ana.publish("refund", "pay says refunded")
	page = bob.get("/tasks/" + task.ID)
	for _, want := range []string{`data-testid="task-version-drift"`, "The latest version, 3, differs at this step or after it (pay)",
		`href="/graphs/refund/diff?from=1&amp;to=3"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("task page lacks %s", want)
		}
	}
}
