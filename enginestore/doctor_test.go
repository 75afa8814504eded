package enginestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"trellis/actions"
	"trellis/engine"
	"trellis/store"
)

// doctorTwoSteps asks finance, then management, so that a run still waits after its first
// task is closed.
const doctorTwoSteps = `{"format": "trellis.graph/v1", "nodes": [
	{"id": "review", "kind": "approval", "config": {"title": "Pay {{ input.n }}", "assignee": "group:finance",
		"form": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}}}},
	{"id": "sign", "kind": "approval", "config": {"title": "Sign {{ input.n }}", "assignee": "user:boss"}}],
  "edges": [{"from": "review", "to": "sign", "port": "approve"}]}`

// storeSQL runs a statement on the store's file behind the store's back, as a restored
// backup or a hand edit would change it.
func (fc *faultCluster) storeSQL(t *testing.T, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(fc.dbDir, "trellis.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (fc *faultCluster) doctor(t *testing.T, repair bool) *actions.DoctorReport {
	t.Helper()
	rep, err := actions.Doctor(context.Background(), fc.db, fc.eng, repair)
	if err != nil {
		t.Fatalf("doctor (repair %v): %v", repair, err)
	}
	return rep
}

// findings are the report's findings as "kind run node" strings, sorted.
func findings(rep *actions.DoctorReport) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, fmt.Sprintf("%s %s %s", f.Kind, f.RunID, f.NodeID))
	}
	slices.Sort(out)
	return out
}

// TestDoctorFindsAndRepairsTheInbox makes each disagreement between the inbox and the runs
// for real: a waiting run's task row deleted, a run terminated while its task is open, and
// a task the run closed opened again in the store (a restored backup); a run that waits as
// it should is left alone. doctor reports the three, repairs them, and then finds the
// store healthy; the task it stored again is decided and its run completes.
func TestDoctorFindsAndRepairsTheInbox(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	lost := fc.start(t, faultApproval, 1)
	ended := fc.start(t, faultApproval, 2)
	healthy := fc.start(t, faultApproval, 3)
	restored := fc.start(t, doctorTwoSteps, 4)
	for _, id := range []string{lost, ended, healthy, restored} {
		fc.waitNode(t, id, "review", engine.NodeWaiting)
	}
	if rep := fc.doctor(t, false); len(rep.Findings) != 0 {
		t.Fatalf("doctor before any fault: %v", findings(rep))
	}

	task, err := fc.db.GetTaskByNode(ctx, lost, "review")
	if err != nil {
		t.Fatal(err)
	}
	fc.storeSQL(t, `DELETE FROM task_events WHERE task_id = ?`, task.ID)
	fc.storeSQL(t, `DELETE FROM tasks WHERE id = ?`, task.ID)
	if err := fc.c.TerminateWorkflow(ctx, ended, "", "doctor test"); err != nil {
		t.Fatal(err)
	}
	fc.decide(t, restored, 4)
	fc.waitNode(t, restored, "sign", engine.NodeWaiting)
	fc.storeSQL(t, `UPDATE tasks SET state = 'open' WHERE run_id = ? AND node_id = 'review'`, restored)

	want := []string{
		"missing_task " + lost + " review",
		"stale_task " + ended + " review",
		"stale_task " + restored + " review",
	}
	slices.Sort(want)
	rep := fc.doctor(t, false)
	if got := findings(rep); !slices.Equal(got, want) {
		t.Fatalf("doctor found %v, want %v", got, want)
	}
	if rep.Unrepaired() != 3 {
		t.Fatalf("a check without repair repaired: %+v", rep.Findings)
	}
	for _, f := range rep.Findings {
		t.Log(f.String())
	}
	t.Log(rep.Summary())

	rep = fc.doctor(t, true)
	if got := findings(rep); !slices.Equal(got, want) || rep.Unrepaired() != 0 {
		t.Fatalf("repair found %v (want %v), unrepaired %d: %+v", got, want, rep.Unrepaired(), rep.Findings)
	}
	for _, id := range []string{ended, restored} {
		task, err := fc.db.GetTaskByNode(ctx, id, "review")
		if err != nil || task.State != store.TaskCancelled {
			t.Fatalf("stale task of %s after the repair: %+v, %v", id, task, err)
		}
		if last := task.Events[len(task.Events)-1]; last.Kind != store.TaskEventCancelled || last.Actor != store.DoctorActor {
			t.Fatalf("stale task of %s: last event %+v", id, last)
		}
	}
	back, err := fc.db.GetTaskByNode(ctx, lost, "review")
	if err != nil || back.State != store.TaskOpen || back.Title != "Pay 1" || back.Assignee != "group:finance" ||
		!slices.Equal(back.Outcomes, []string{"approve", "reject"}) {
		t.Fatalf("the missing task after the repair: %+v, %v", back, err)
	}
	if rep := fc.doctor(t, false); len(rep.Findings) != 0 {
		t.Fatalf("doctor after the repair: %v", findings(rep))
	}
	// A second repair is idempotent: nothing to do, nothing changed.
	if rep := fc.doctor(t, true); len(rep.Findings) != 0 {
		t.Fatalf("second repair: %v", findings(rep))
	}

	fc.decide(t, lost, 7)
	if out := fmt.Sprint(fc.result(t, lost)); out != "map[pay:paid 7]" {
		t.Fatalf("the repaired run ended with %s", out)
	}
	if task, err := fc.db.GetTaskByNode(ctx, lost, "review"); err != nil || task.State != store.TaskDone || task.Decision.DecidedBy != "bob" {
		t.Fatalf("the repaired task after its decision: %+v, %v", task, err)
	}
	fc.decide(t, healthy, 3)
	if out := fmt.Sprint(fc.result(t, healthy)); out != "map[pay:paid 3]" {
		t.Fatalf("the healthy run ended with %s", out)
	}
}

// doctorEscalates escalates to audit when finance lets it lie for a second.
const doctorEscalates = `{"format": "trellis.graph/v1", "nodes": [
	{"id": "review", "kind": "approval", "config": {"title": "Pay {{ input.n }}", "assignee": "group:finance",
		"due": "1s", "on_due": {"escalate_to": "group:audit"}}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid ' + string(input.n)"}}],
  "edges": [{"from": "review", "to": "pay", "port": "approve"}]}`

// TestDoctorReopensAnEscalatedTask: a task lost after its escalation comes back as the run
// holds it, with the new assignee and due time, and the new assignee can decide it.
func TestDoctorReopensAnEscalatedTask(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	id := fc.start(t, doctorEscalates, 8)
	var before *store.Task
	waitFor(t, "the task of "+id+" is escalated", func() (bool, string) {
		var err error
		before, err = fc.db.GetTaskByNode(ctx, id, "review")
		return err == nil && before.Assignee == "group:audit", fmt.Sprintf("%+v, %v", before, err)
	})
	fc.storeSQL(t, `DELETE FROM task_events WHERE task_id = ?`, before.ID)
	fc.storeSQL(t, `DELETE FROM tasks WHERE id = ?`, before.ID)

	rep := fc.doctor(t, true)
	if got, want := findings(rep), []string{"missing_task " + id + " review"}; !slices.Equal(got, want) || rep.Unrepaired() != 0 {
		t.Fatalf("repair found %v, want %v: %+v", got, want, rep.Findings)
	}
	back, err := fc.db.GetTaskByNode(ctx, id, "review")
	if err != nil || back.State != store.TaskOpen || back.Assignee != "group:audit" || back.DueAt == nil ||
		before.DueAt == nil || !back.DueAt.Equal(*before.DueAt) {
		t.Fatalf("the task after the repair: %+v, %v; before: %+v", back, err, before)
	}
	waitFor(t, "run "+id+" takes audit's decision", func() (bool, string) {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := fc.eng.Decide(dctx, id, "review", engine.Decision{Outcome: "approve", By: "carol", Groups: []string{"audit"}})
		return err == nil, fmt.Sprint(err)
	})
	if out := fmt.Sprint(fc.result(t, id)); out != "map[pay:paid 8]" {
		t.Fatalf("the repaired run ended with %s", out)
	}
	if rep := fc.doctor(t, false); len(rep.Findings) != 0 {
		t.Fatalf("doctor after the run: %v", findings(rep))
	}
}

// TestDoctorUnknownRuns: a task whose run Temporal does not know is stale, but only beside
// runs Temporal does know; when it knows none of the open tasks' runs and has no run at all,
// doctor refuses (the wrong cluster or namespace, whose repair would empty the inbox).
func TestDoctorUnknownRuns(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	ghost := ghostTask("run-ghost")
	if _, _, err := fc.db.CreateTask(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	if _, err := actions.Doctor(ctx, fc.db, fc.eng, true); !errors.Is(err, actions.ErrStrangeCluster) {
		t.Fatalf("doctor with no run Temporal knows: %v, want ErrStrangeCluster", err)
	}
	if task, err := fc.db.GetTaskByNode(ctx, "run-ghost", "review"); err != nil || task.State != store.TaskOpen {
		t.Fatalf("the refused repair changed the task: %+v, %v", task, err)
	}

	id := fc.start(t, faultApproval, 1)
	fc.waitNode(t, id, "review", engine.NodeWaiting)
	waitFor(t, "visibility lists run "+id, func() (bool, string) {
		ids, err := fc.eng.OpenRunIDs(ctx)
		return err == nil && slices.Contains(ids, id), fmt.Sprint(ids, err)
	})
	rep := fc.doctor(t, true)
	if got, want := findings(rep), []string{"stale_task run-ghost review"}; !slices.Equal(got, want) || rep.Unrepaired() != 0 ||
		rep.Findings[0].Problem != "Temporal does not know the run" {
		t.Fatalf("doctor found %+v, want %v", rep.Findings, want)
	}
	if task, err := fc.db.GetTaskByNode(ctx, "run-ghost", "review"); err != nil || task.State != store.TaskCancelled {
		t.Fatalf("the ghost's task after the repair: %+v, %v", task, err)
	}
}

func ghostTask(runID string) store.NewTask {
	return store.NewTask{RunID: runID, NodeID: "review", GraphID: "fault", Version: 1, Title: "Ghost",
		Assignee: "group:finance", Outcomes: []string{"approve", "reject"}}
}
