package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"trellis/actions"
	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/enginestore"
	"trellis/store"
	"trellis/store/storetest"
)

// approvalDoc waits for group finance to approve or reject an amount.
const approvalDoc = `{"format": "trellis.graph/v1", "name": "Approve",
  "nodes": [{"id": "review", "kind": "approval", "config": {"title": "Approve", "assignee": "group:finance",
	"outcomes": ["approve", "reject"],
	"form": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "minimum": 0}}}}}],
  "edges": []}`

// newEngineActions is the actions over a real store and the real embedded engine, whose
// approval nodes keep their tasks in that store.
func newEngineActions(t *testing.T) (*actions.Actions, *store.DB, *engine.Engine) {
	t.Helper()
	db := storetest.MustOpen(t)
	eng, _ := enginetest.Start(t, engine.Deps{Tasks: enginestore.Tasks{DB: db}})
	return actions.New(db, db, eng, nil), db, eng
}

// waitFor polls until ok says so, with a generous deadline for a busy machine.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
	}
}

// TestStartRunAndRerun: a run starts on the latest version with the schema's defaults, a
// bad input or a retired version is refused, and a rerun starts on the same version.
func TestStartRunAndRerun(t *testing.T) {
	ctx := context.Background()
	a, db, eng := newEngineActions(t)
	newGraph(t, db, "sum", sumDoc)
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "sum"}); err != nil {
		t.Fatal(err)
	}

	bad := refusal(t, errOf(a.StartRun(ctx, actions.StartRequest{GraphID: "sum", Input: map[string]any{"a": "one"}})), actions.Invalid)
	if len(bad.Input) != 1 || bad.Input[0].Path != "/a" {
		t.Errorf("input problems = %+v, want one at /a", bad.Input)
	}
	run, err := a.StartRun(ctx, actions.StartRequest{GraphID: "sum", Input: map[string]any{"a": 1.0}, By: "ana"})
	if err != nil || run.Version != 1 {
		t.Fatalf("StartRun = %+v, %v", run, err)
	}
	var got *engine.Run
	waitFor(t, "the run completes", func() bool {
		got, err = eng.GetRun(ctx, run.RunID)
		return err == nil && got.Status == engine.RunCompleted
	})
	if got.Version != 1 || got.StartedBy != "ana" || toJSON(got.Output) != `{"sum":3}` {
		t.Errorf("run = version %d by %s with output %v; want version 1 by ana, 1 + default 2 = 3", got.Version, got.StartedBy, got.Output)
	}

	again, err := a.Rerun(ctx, run.RunID, "bob")
	if err != nil || again == run.RunID {
		t.Fatalf("Rerun = %q, %v", again, err)
	}
	waitFor(t, "the rerun completes", func() bool {
		got, err = eng.GetRun(ctx, again)
		return err == nil && got.Status == engine.RunCompleted
	})
	if got.Version != 1 || got.StartedBy != "bob" || toJSON(got.Output) != `{"sum":3}` {
		t.Errorf("rerun = version %d by %s with output %v", got.Version, got.StartedBy, got.Output)
	}

	if err := db.RetireVersion(ctx, "sum", 1); err != nil {
		t.Fatal(err)
	}
	refusal(t, errOf(a.StartRun(ctx, actions.StartRequest{GraphID: "sum", Version: 1, Input: map[string]any{"a": 1.0}})), actions.Conflict)
	refusal(t, errOf(a.StartRun(ctx, actions.StartRequest{GraphID: "sum", Input: map[string]any{"a": 1.0}})), actions.Conflict)
	refusal(t, errOf(a.Rerun(ctx, run.RunID, "bob")), actions.Conflict)
	if _, err := a.Rerun(ctx, "run-none", "bob"); !errors.Is(err, engine.ErrRunNotFound) {
		t.Errorf("rerun of an unknown run: %v, want engine.ErrRunNotFound", err)
	}
}

// TestDecide: a decision is checked by the one rule before the run is asked, the run takes a
// fitting one and closes the task, and a second is refused naming who decided.
func TestDecide(t *testing.T) {
	ctx := context.Background()
	a, db, eng := newEngineActions(t)
	newGraph(t, db, "approve", approvalDoc)
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "approve"}); err != nil {
		t.Fatal(err)
	}
	run, err := a.StartRun(ctx, actions.StartRequest{GraphID: "approve", Input: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run waits for the decision", func() bool {
		r, err := eng.GetRun(ctx, run.RunID)
		return err == nil && r.Status == engine.RunWaiting
	})
	task, err := db.GetTaskByNode(ctx, run.RunID, "review")
	if err != nil {
		t.Fatal(err)
	}
	bob := &store.User{Name: "bob", Groups: []string{"finance"}}
	eve := &store.User{Name: "eve", Groups: []string{"ops"}}

	refusal(t, errOf(a.Decide(ctx, actions.DecideRequest{TaskID: task.ID, User: eve, Outcome: "approve", Data: map[string]any{"amount": 1.0}})), actions.Forbidden)
	invalid := refusal(t, errOf(a.Decide(ctx, actions.DecideRequest{TaskID: task.ID, User: bob, Outcome: "later", Comment: strings.Repeat("x", 4001)})), actions.Invalid)
	var fields []string
	for _, p := range invalid.Decision {
		fields = append(fields, p.Field)
	}
	if strings.Join(fields, ",") != "outcome,comment,data.amount" {
		t.Errorf("decision problems on %v, want outcome, comment and data.amount", fields)
	}

	done, err := a.Decide(ctx, actions.DecideRequest{TaskID: task.ID, User: bob, Outcome: "approve", Comment: "fine", Data: map[string]any{"amount": 5.0}})
	if err != nil {
		t.Fatal(err)
	}
	if done.State != store.TaskDone || done.Decision == nil || done.Decision.DecidedBy != "bob" || string(done.Decision.Data) != `{"amount":5}` {
		t.Errorf("decided task = %s, %+v", done.State, done.Decision)
	}
	late := refusal(t, errOf(a.Decide(ctx, actions.DecideRequest{TaskID: task.ID, User: bob, Outcome: "reject", Data: map[string]any{"amount": 0.0}})), actions.Conflict)
	if !strings.Contains(late.Message, "already decided by bob") {
		t.Errorf("second decision: %q, want it to name bob", late.Message)
	}
	waitFor(t, "the run completes", func() bool {
		r, err := eng.GetRun(ctx, run.RunID)
		return err == nil && r.Status == engine.RunCompleted
	})
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// notYetEngine answers "not waiting" to the first decisions, as a run does in the moment
// between its task reaching the store and its node being marked waiting.
type notYetEngine struct {
	*engine.Engine
	misses int
}

func (e *notYetEngine) Decide(ctx context.Context, runID, node string, d engine.Decision) error {
	if e.misses > 0 {
		e.misses--
		return &engine.DecisionError{Reason: engine.DecisionNotWaiting, Message: "the run is not waiting for a decision at " + node}
	}
	return e.Engine.Decide(ctx, runID, node, d)
}

// TestDecideBeforeTheRunWaits: a decision on an open task whose run does not wait yet is
// offered again until the run takes it, rather than refused with a 409 the reviewer cannot
// act on.
func TestDecideBeforeTheRunWaits(t *testing.T) {
	ctx := context.Background()
	a, db, eng := newEngineActions(t)
	newGraph(t, db, "approve", approvalDoc)
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "approve"}); err != nil {
		t.Fatal(err)
	}
	run, err := a.StartRun(ctx, actions.StartRequest{GraphID: "approve", Input: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	var task *store.Task
	waitFor(t, "the task is in the store", func() bool {
		task, err = db.GetTaskByNode(ctx, run.RunID, "review")
		return err == nil
	})
	slow := &notYetEngine{Engine: eng, misses: 3}
	b := actions.New(db, db, slow, nil)
	done, err := b.Decide(ctx, actions.DecideRequest{TaskID: task.ID, User: &store.User{Name: "bob", Groups: []string{"finance"}},
		Outcome: "approve", Data: map[string]any{"amount": 5.0}})
	if err != nil {
		t.Fatal(err)
	}
	if slow.misses != 0 || done.State != store.TaskDone {
		t.Errorf("misses left %d, task %s; want the decision taken after three tries", slow.misses, done.State)
	}
}
