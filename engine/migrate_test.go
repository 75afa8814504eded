package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"trellis/store"
	"trellis/store/storetest"
)

// refundV2 is refundApproval (v1) with a node added after the approval and the later
// transform changed: approve leads to audit, then pay, which now says so.
const refundV2 = `{"nodes": [
	{"id": "classify", "kind": "transform", "config": {"value": "{ label: 'refund', amount: input.amount }"}},
	{"id": "review", "kind": "approval", "config": {
		"title": "Refund {{ input.amount }} EUR to {{ input.customer }}",
		"instructions": "Check **{{ input.customer }}**, labelled {{ nodes.classify.output.label }}.",
		"assignee": "group:finance",
		"form": {"type": "object", "required": ["amount"], "properties": {
			"amount": {"type": "number", "minimum": 0}, "note": {"type": "string", "default": "none"}}}}},
	{"id": "audit", "kind": "transform", "config": {"value": "'audited on v' + string(run.version)"}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid ' + string(nodes.review.output.data.amount) + ', ' + nodes.audit.output"}},
	{"id": "tell", "kind": "transform", "config": {"value": "'rejected by ' + nodes.review.output.decided_by"}}],
  "edges": [{"from": "classify", "to": "review"}, {"from": "review", "to": "audit", "port": "approve"},
	{"from": "audit", "to": "pay"}, {"from": "review", "to": "tell", "port": "reject"}]}`

// refundNoReview has no approval node: a run waiting at review cannot move to it.
const refundNoReview = `{"nodes": [
	{"id": "classify", "kind": "transform", "config": {"value": "{ label: 'refund', amount: input.amount }"}},
	{"id": "review", "kind": "transform", "config": {"value": "{ outcome: 'approve' }"}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid anyway'"}}],
  "edges": [{"from": "classify", "to": "review"}, {"from": "review", "to": "pay"}]}`

const migratedHistory = "migrated"

func TestMigrationProblems(t *testing.T) {
	v1, v2, bad := refundGraph(t, ""), mustGraph(t, refundV2), mustGraph(t, refundNoReview)
	waiting := map[string]NodeState{"classify": {Status: NodeCompleted}, "review": {Status: NodeWaiting}, "pay": {Status: NodePending}}
	if ps := MigrationProblems(&v1, waiting, &v2); len(ps) != 0 {
		t.Errorf("v1 → v2 problems = %v", ps)
	}
	ps := MigrationProblems(&v1, waiting, &bad)
	if len(ps) != 1 || ps[0].Node != "review" || !strings.Contains(ps[0].Message, "it is waiting as a node of kind approval, but is of kind transform") {
		t.Errorf("v1 → no review problems = %v", ps)
	}
	noClassify := v2
	noClassify.Nodes = noClassify.Nodes[1:]
	if ps := MigrationProblems(&v1, waiting, &noClassify); len(ps) == 0 || ps[0].Node != "classify" || !strings.Contains(ps[0].Message, "it is completed but is not in the target") {
		t.Errorf("v1 → without classify problems = %v", ps)
	}
	// A node that never started may go away.
	if ps := MigrationProblems(&v1, map[string]NodeState{"classify": {Status: NodeCompleted}}, &bad); len(ps) != 0 {
		t.Errorf("before review started, problems = %v", ps)
	}
}

// TestMigrateWaitingRun moves a run waiting at an approval from v1 to v2 on the embedded
// server: the same task is decided, and the run finishes as v2 says. A move to a version
// without the approval is refused, as is one backwards, and that run goes on on v1.
func TestMigrateWaitingRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	start := func() string {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: refundGraph(t, ""),
			Input: refundInput, StartedBy: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		waitRun(t, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
		return id
	}
	moved, stays := start(), start()
	before := waitTask(t, db, moved, "is open", isOpen)

	res, err := cl.eng.MigrateRun(ctx, moved, MigrateRequest{Version: 2, Definition: mustGraph(t, refundV2), By: "dev", Comment: "audit"})
	if err != nil || res.From != 1 || res.Version != 2 {
		t.Fatalf("MigrateRun = %+v, %v", res, err)
	}
	run, err := cl.eng.GetRun(ctx, moved)
	if err != nil || run.Version != 2 || run.Status != RunWaiting || run.Nodes["audit"].Status != NodePending {
		t.Fatalf("run after the move = %s, %v", toJSON(run), err)
	}
	if ops := run.Operations; len(ops) != 1 || ops[0].Action != ActionMigrate || ops[0].FromVersion != 1 || ops[0].ToVersion != 2 || ops[0].By != "dev" {
		t.Errorf("operations = %s", toJSON(ops))
	}
	task := waitTask(t, db, moved, "is on v2", func(t *store.Task) bool { return t.Version == 2 })
	if task.ID != before.ID || task.State != store.TaskOpen {
		t.Errorf("task after the move = %+v, was %+v", task, before)
	}
	// Back to v1, or to v2 again, is refused.
	var re *RecoveryError
	if _, err := cl.eng.MigrateRun(ctx, moved, MigrateRequest{Version: 1, Definition: refundGraph(t, ""), By: "dev"}); !errors.As(err, &re) || re.Reason != RecoveryInvalid {
		t.Errorf("move back = %v, want invalid", err)
	}
	var me *MigrationError
	if _, err := cl.eng.MigrateRun(ctx, stays, MigrateRequest{Version: 3, Definition: mustGraph(t, refundNoReview), By: "dev"}); !errors.As(err, &me) ||
		len(me.Problems) != 1 || me.Problems[0].Node != "review" {
		t.Errorf("incompatible move = %v, want the problem with review", err)
	}

	for _, id := range []string{moved, stays} {
		if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 4}, By: "bob", Groups: []string{"finance"}}); err != nil {
			t.Fatalf("decide %s: %v", id, err)
		}
	}
	run = waitRun(t, cl.eng, moved, "ended", ended)
	if run.Status != RunCompleted || toJSON(run.Output) != `{"pay":"paid 4, audited on v2"}` || run.Version != 2 {
		t.Errorf("moved run = %s", toJSON(run))
	}
	if tk, err := db.GetTaskByNode(ctx, moved, "review"); err != nil || tk.ID != before.ID || tk.State != store.TaskDone || tk.Version != 2 {
		t.Errorf("moved run's task = %+v, %v", tk, err)
	}
	other := waitRun(t, cl.eng, stays, "ended", ended)
	if other.Status != RunCompleted || toJSON(other.Output) != `{"pay":"paid 4"}` || other.Version != 1 || len(other.Operations) != 0 {
		t.Errorf("refused run = %s", toJSON(other))
	}
	tl, err := cl.eng.Timeline(ctx, moved)
	if err != nil || tl.Version != 2 || len(tl.Moves) != 1 || tl.Moves[0].From != 1 || tl.Moves[0].By != "dev" {
		t.Fatalf("timeline = %+v, %v", tl, err)
	}
	if _, ok := tl.Definition.NodeByID("audit"); !ok {
		t.Error("the timeline's definition is not v2's")
	}
	if *update {
		writeHistory(t, cl.c, moved, migratedHistory, "no-secret-in-this-run")
	}
}
