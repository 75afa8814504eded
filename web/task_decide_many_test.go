package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

const checkItemsDoc = `{"format": "trellis.graph/v1", "name": "Check items",
  "nodes": [{"id": "each", "kind": "map", "config": {"items": "['a', 'b', 'c']",
     "node": {"kind": "approval", "config": {"title": "Check {{ item }}", "assignee": "group:finance"}}}}],
  "edges": []}`

// TestInboxDecideTicked: the inbox's open tab ticks tasks and decides them with one outcome
// (here the three items of a map); the page says how many were decided and which were not,
// and why; ticking none is refused with a 422.
func TestInboxDecideTicked(t *testing.T) {
	app := newEngineApp(t)
	ana := app.api("ana", "analyst")
	g := ana.createGraph("Check items", checkItemsDoc)
	wantStatus(t, ana.send(http.MethodPost, "/graphs/"+g+"/versions", map[string]any{"note": "first"}), http.StatusCreated)
	r := ana.send(http.MethodPost, "/graphs/"+g+"/runs", map[string]any{"input": map[string]any{}})
	wantStatus(t, r, http.StatusCreated)
	runID := r.JSON(t)["run_id"].(string)
	var ids []string
	deadline := time.Now().Add(60 * time.Second)
	for len(ids) < 3 && time.Now().Before(deadline) {
		items, _ := app.DB.ItemTasks(context.Background(), runID, "each", 0, 2)
		ids = ids[:0]
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(ids) != 3 {
		t.Fatalf("item tasks = %v", ids)
	}
	if task, err := app.DB.GetTask(context.Background(), ids[1]); err != nil || task.Item == nil || task.Item.Total != 3 {
		t.Fatalf("item task: %+v, %v; want the map's total, 3", task, err)
	}
	c := app.memberClient("ann", "finance")
	page := c.get("/inbox")
	wantStatus(t, page, http.StatusOK)
	// The open tab groups the three items in one row; their own list ticks each.
	taskWants(t, "inbox", page.Body, `data-testid="inbox-decide"`, `data-waiting="3"`, `name="group" value="each:`+runID+`"`,
		`<option value="approve">`)
	group := c.get("/inbox?" + url.Values{"run": {runID}, "node": {"each"}}.Encode())
	wantStatus(t, group, http.StatusOK)
	taskWants(t, "group", group.Body, `data-testid="inbox-tick-`+ids[0]+`"`, `data-testid="inbox-tick-`+ids[2]+`"`)

	// A ticked task and its ticked group: each task is decided once.
	r2 := c.postForm("/inbox/decisions", url.Values{"outcome": {"approve"}, "comment": {"all fine"}, "task_id": {ids[0]},
		"group": {"each:" + runID}})
	wantStatus(t, r2, http.StatusOK)
	taskWants(t, "result", r2.Body, `data-testid="inbox-bulk-result"`, "3 tasks decided.")
	if run := app.waitRun(runID); run.Status != engine.RunCompleted {
		t.Fatalf("run = %s", run.Status)
	}
	again := c.postForm("/inbox/decisions", url.Values{"outcome": {"approve"}, "task_id": {ids[0]}})
	taskWants(t, "again", again.Body, "0 tasks decided.", `data-testid="inbox-refused-`+ids[0]+`"`, "Check a")
	wantStatus(t, c.postForm("/inbox/decisions", url.Values{"outcome": {"approve"}}), http.StatusUnprocessableEntity)
}
