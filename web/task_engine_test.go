package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/enginestore"
	"trellis/store"
)

// refundGraphDoc is a published graph with an approval: approve pays, reject tells.
const refundGraphDoc = `{"format": "trellis.graph/v1", "name": "Refund",
  "input": {"type": "object", "required": ["customer", "amount"],
	"properties": {"customer": {"type": "string"}, "amount": {"type": "number"}}},
  "nodes": [
	{"id": "classify", "kind": "transform", "config": {"value": "{ label: 'refund', risk: 'low' }"}},
	{"id": "review", "kind": "approval", "config": {
		"title": "Refund {{ input.amount }} EUR to {{ input.customer }}",
		"instructions": "Check **{{ input.customer }}**: risk {{ nodes.classify.output.risk }}.",
		"assignee": "group:finance",
		"form": {"type": "object", "required": ["amount"], "properties": {
			"amount": {"type": "number", "title": "Approved amount", "minimum": 0},
			"urgent": {"type": "boolean", "title": "Urgent"},
			"category": {"type": "string", "enum": ["refund", "goodwill"]}}}}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid ' + string(nodes.review.output.data.amount)"}},
	{"id": "tell", "kind": "transform", "config": {"value": "'rejected by ' + nodes.review.output.decided_by"}}],
  "edges": [{"from": "classify", "to": "review"}, {"from": "review", "to": "pay", "port": "approve"},
	{"from": "review", "to": "tell", "port": "reject"}]}`

// engineTasksForTest is the engine's TaskStore over the store, as serve wires it.
type engineTasksForTest = enginestore.Tasks

// engineApp is a test server on the real engine: the embedded Temporal server, a worker
// whose approval nodes use the app's store, and the Engine as run starter and decider.
type engineApp struct {
	*testApp
	eng *engine.Engine
}

func newEngineApp(tb testing.TB) *engineApp {
	tb.Helper()
	tasks := &engineTasksForTest{}
	eng, _ := enginetest.Start(tb, engine.Deps{Tasks: tasks})
	app := newTestApp(tb, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Tasks, s.Deps.Graphs, s.Deps.Runs = db, db, eng
	}))
	tasks.DB = app.DB
	return &engineApp{testApp: app, eng: eng}
}

// startRefund publishes the refund graph as an analyst and starts a run through the API.
func (a *engineApp) startRefund(amount float64) string {
	a.tb.Helper()
	ana := a.api("ana", store.RoleAnalyst)
	id := "refund"
	if _, err := a.DB.GetGraph(context.Background(), id); err != nil {
		id = ana.createGraph("Refund", refundGraphDoc)
		r := ana.send(http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "first"})
		wantStatus(a.tb, r, http.StatusCreated)
	}
	r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{"customer": "Ada", "amount": amount}})
	wantStatus(a.tb, r, http.StatusCreated)
	return r.JSON(a.tb)["run_id"].(string)
}

// waitTask waits until the run's review task is in the store.
func (a *engineApp) waitTask(runID string) *store.Task {
	a.tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if t, err := a.DB.GetTaskByNode(context.Background(), runID, "review"); err == nil {
			return t
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.tb.Fatalf("run %s: no task after a minute", runID)
	return nil
}

// waitRun waits until the run has ended and returns it.
func (a *engineApp) waitRun(runID string) *engine.Run {
	a.tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		r, err := a.eng.GetRun(context.Background(), runID)
		if err == nil && r.Status != engine.RunRunning && r.Status != engine.RunWaiting {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.tb.Fatalf("run %s did not end within a minute", runID)
	return nil
}

// TestTaskDecisionOnEngine is the API against the real engine: the task appears for the
// group, an outsider gets 403, bad data 422, a member decides and the run goes on along
// the chosen port, and a second decision gets 409 naming the first reviewer.
func TestTaskDecisionOnEngine(t *testing.T) {
	app := newEngineApp(t)
	runID := app.startRefund(120)
	task := app.waitTask(runID)
	// The task is stored a workflow task before the run marks its node waiting, and a busy
	// worker may not answer the state query at once: wait for the state.
	var run *engine.Run
	var err error
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		run, err = app.eng.GetRun(context.Background(), runID)
		if err == nil && run.Status == engine.RunWaiting && run.Nodes["review"].Status == engine.NodeWaiting {
			break
		}
	}
	if err != nil || run.Status != engine.RunWaiting || run.Nodes["review"].Status != engine.NodeWaiting {
		t.Fatalf("run while the task is open = %+v, %v", run, err)
	}

	// The run page links the waiting approval node to its task.
	page := app.signedIn("dev", store.RoleDeveloper).get("/runs/" + runID + "?node=review")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, `href="/tasks/`+task.ID+`"`) {
		t.Errorf("run page does not link the review node to task %s", task.ID)
	}

	bob := app.memberAPI("bob", "finance")
	list := bob.get("/tasks")
	wantStatus(t, list, http.StatusOK)
	if ids := taskIDs(t, list); len(ids) != 1 || ids[0] != task.ID {
		t.Fatalf("finance's tasks = %v, want %s", ids, task.ID)
	}
	show := bob.get("/tasks/" + task.ID)
	wantStatus(t, show, http.StatusOK)
	if !strings.Contains(show.Body, "Refund 120 EUR to Ada") || !strings.Contains(show.Body, `\u003cstrong\u003eAda\u003c/strong\u003e: risk low`) {
		t.Errorf("task = %s", show.Body)
	}

	path := "/tasks/" + task.ID + "/decision"
	eve := app.memberAPI("eve", "ops")
	wantAPIError(t, eve.send(http.MethodPost, path, map[string]any{"outcome": "approve", "data": map[string]any{"amount": 1}}), http.StatusNotFound, "not_found")
	r := bob.send(http.MethodPost, path, map[string]any{"outcome": "approve", "data": map[string]any{"amount": "all"}})
	wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
	if fields := problemFields(t, r); len(fields) != 1 || fields[0] != "data.amount" {
		t.Errorf("problems name %v, want data.amount", fields)
	}

	r = bob.send(http.MethodPost, path, map[string]any{"outcome": "approve", "data": map[string]any{"amount": 99.5}, "comment": "ok"})
	wantStatus(t, r, http.StatusOK)
	if v := r.JSON(t); v["state"] != "done" || v["decided_by"] != "bob" {
		t.Errorf("decided task = %s", r.Body)
	}
	done := app.waitRun(runID)
	if done.Status != engine.RunCompleted || toJSONString(done.Output) != `{"pay":"paid 99.5"}` || done.Nodes["tell"].Status != engine.NodeSkipped {
		t.Errorf("run = %+v, output %s", done, toJSONString(done.Output))
	}
	if out := toJSONString(done.Nodes["review"].Output); !strings.Contains(out, `"decided_by":"bob"`) || !strings.Contains(out, `"comment":"ok"`) {
		t.Errorf("review output = %s", out)
	}

	ann := app.memberAPI("ann", "finance")
	r = ann.send(http.MethodPost, path, map[string]any{"outcome": "reject", "data": map[string]any{"amount": 0}})
	wantAPIError(t, r, http.StatusConflict, "conflict")
	if !strings.Contains(r.Body, "decided by bob") {
		t.Errorf("409 does not name bob: %s", r.Body)
	}
}

func toJSONString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}
