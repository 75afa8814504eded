package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"trellis/engine"
)

// TestDecideManyOnEngine: one decision for several tasks. Each is decided once through its
// run's validated update; a task someone else decided, and one that does not exist, are
// refused with why, without stopping the others; an outsider decides none; an empty or
// repeated list is refused whole.
func TestDecideManyOnEngine(t *testing.T) {
	app := newEngineApp(t)
	var runs, ids []string
	for i := range 3 {
		runs = append(runs, app.startRefund(float64(100+i)))
		ids = append(ids, app.waitTask(runs[i]).ID)
	}
	bob := app.memberAPI("bob", "finance")
	wantStatus(t, bob.send(http.MethodPost, "/tasks/"+ids[2]+"/decision", map[string]any{"outcome": "reject", "data": map[string]any{"amount": 0}}), http.StatusOK)

	eve := app.memberAPI("eve", "sales")
	r := eve.send(http.MethodPost, "/tasks/decisions", map[string]any{"task_ids": ids[:2], "outcome": "approve", "data": map[string]any{"amount": 10}})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `"decided":[]`) || strings.Count(r.Body, `"code":"forbidden"`) != 2 {
		t.Fatalf("an outsider's decisions = %s", r.Body)
	}

	ann := app.memberAPI("ann", "finance")
	r = ann.send(http.MethodPost, "/tasks/decisions", map[string]any{"task_ids": append(append([]string{}, ids...), "999999"),
		"outcome": "approve", "data": map[string]any{"amount": 10}, "comment": "batch"})
	wantStatus(t, r, http.StatusOK)
	want := fmt.Sprintf(`"decided":["%s","%s"]`, ids[0], ids[1])
	if !strings.Contains(r.Body, want) || !strings.Contains(r.Body, `{"task_id":"`+ids[2]+`","code":"conflict"`) ||
		!strings.Contains(r.Body, `{"task_id":"999999","code":"not_found"`) {
		t.Fatalf("decisions = %s, want %s and two refusals", r.Body, want)
	}
	for _, id := range runs[:2] {
		if run := app.waitRun(id); run.Status != engine.RunCompleted || run.Nodes["pay"].Output != "paid 10" {
			t.Errorf("run %s = %s %v", id, run.Status, run.Nodes["pay"].Output)
		}
	}
	if run := app.waitRun(runs[2]); run.Nodes["tell"].Output != "rejected by bob" {
		t.Errorf("bob's run = %v", run.Nodes["tell"].Output)
	}

	for _, body := range []map[string]any{{"task_ids": []string{}, "outcome": "approve"}, {"task_ids": []string{ids[0], ids[0]}, "outcome": "approve"}} {
		wantAPIError(t, ann.send(http.MethodPost, "/tasks/decisions", body), http.StatusUnprocessableEntity, "invalid")
	}
}
