package engine

import (
	"bytes"
	"context"
	"testing"

	"go.temporal.io/sdk/client"

	"trellis/store"
	"trellis/store/storetest"
)

// TestDecisionNeedsServesProof: issue 18's probe decided a task with a raw decide update
// naming a made-up reviewer and group. With the key, a worker refuses a decision that serve
// did not sign, or signed with another key, or whose reviewer was changed after signing.
func TestDecisionNeedsServesProof(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	key := bytes.Repeat([]byte{7}, DecisionKeySize)
	cl := startCluster(t, t.TempDir(), Deps{Tasks: storeTasks{db}, DecisionKey: key})
	eng := New(cl.c, Options{DecisionKey: key})
	id, err := eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: refundGraph(t, ""),
		Input: refundInput, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
	waitTask(t, db, id, "opens", isOpen)

	forged := DecideRequest{Node: "review", Outcome: "approve", Data: map[string]any{"amount": 120}, By: "mallory", Groups: []string{"finance"}}
	raw := func(req DecideRequest) error {
		h, err := cl.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: UpdateDecide,
			Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		return eng.decideError(ctx, id, "review", err)
	}
	other := forged
	other.Proof = decisionProof(bytes.Repeat([]byte{9}, DecisionKeySize), id, other)
	changed := forged
	changed.Proof = decisionProof(key, id, DecideRequest{Node: "review", Outcome: "approve", By: "bob", Groups: []string{"finance"}})
	for name, req := range map[string]DecideRequest{"no proof": forged, "another key": other, "another reviewer": changed} {
		if err := raw(req); decisionReason(err) != DecisionForbidden {
			t.Fatalf("%s: %v, want refused as forbidden", name, err)
		}
	}
	// The task is still open, and a decision through the engine (signed) is taken.
	if tk := waitTask(t, db, id, "stays open", isOpen); tk.Decision != nil {
		t.Fatalf("a forged decision was recorded: %+v", tk.Decision)
	}
	if err := eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 120}, By: "bob", Groups: []string{"finance"}}); err != nil {
		t.Fatalf("signed decision: %v", err)
	}
	waitTask(t, db, id, "is decided", func(tk *store.Task) bool { return tk.State != store.TaskOpen })
}
