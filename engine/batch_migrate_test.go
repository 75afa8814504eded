package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"trellis/store/storetest"
)

func waitBatch(t *testing.T, eng *Engine, id string) *BatchProgress {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		p, err := eng.GetBatch(ctx, id)
		if err == nil && p.State != BatchRunning {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s still running: %+v, %v", id, p, err)
		}
	}
}

// TestBatchMigrateAndRewind: a batch moves three runs waiting at an approval to v2 (a run of
// another graph is refused, by name), the runs then finish as v2 says; a second batch rewinds
// them from pay onto v2, each into a new run that reuses what came before pay.
func TestBatchMigrateAndRewind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	var ids []string
	for i := range 4 {
		graph := "refund"
		if i == 3 {
			graph = "other"
		}
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: graph, Version: 1, Definition: refundGraph(t, ""), Input: refundInput, StartedBy: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		waitRun(t, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
		ids = append(ids, id)
	}
	v2 := mustGraph(t, refundV2)
	batch, err := cl.eng.StartBatch(ctx, BatchInput{Action: BatchMigrate, RunIDs: ids, By: "dev",
		Target: &BatchTarget{Graph: "refund", Version: 2, Definition: v2}})
	if err != nil {
		t.Fatal(err)
	}
	p := waitBatch(t, cl.eng, batch)
	if p.Done != 3 || p.Failed != 1 || p.Results[3].RunID != ids[3] || !strings.Contains(p.Results[3].Error, "graph other, not refund") {
		t.Fatalf("migrate batch = %s", toJSON(p))
	}
	for _, id := range ids[:3] {
		if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 4}, By: "bob", Groups: []string{"finance"}}); err != nil {
			t.Fatal(err)
		}
		if run := waitRun(t, cl.eng, id, "ended", ended); toJSON(run.Output) != `{"pay":"paid 4, audited on v2"}` || run.Version != 2 {
			t.Errorf("moved run %s = %s", id, toJSON(run))
		}
	}

	// A rewind on the run's own version of a run that moved is on the version it moved to.
	if p, err := cl.eng.PreviewRewind(ctx, ids[0], "pay", nil, 0); err != nil || p.Version != 2 || !slices.Contains(p.Reused, "audit") {
		t.Errorf("same-version rewind plan of a moved run = %+v, %v", p, err)
	}
	batch, err = cl.eng.StartBatch(ctx, BatchInput{Action: BatchRewind, RunIDs: ids[:3], By: "dev",
		Target: &BatchTarget{Graph: "refund", Version: 2, Definition: v2, From: "pay"}})
	if err != nil {
		t.Fatal(err)
	}
	p = waitBatch(t, cl.eng, batch)
	if p.Done != 3 || p.Failed != 0 {
		t.Fatalf("rewind batch = %s", toJSON(p))
	}
	for _, r := range p.Results {
		if r.NewRunID == "" {
			t.Fatalf("rewind of %s started no run", r.RunID)
		}
		run := waitRun(t, cl.eng, r.NewRunID, "ended", ended)
		if run.Status != RunCompleted || run.Version != 2 || run.Nodes["review"].ReusedFrom != r.RunID || run.Nodes["audit"].ReusedFrom != r.RunID ||
			toJSON(run.Output) != `{"pay":"paid 4, audited on v2"}` {
			t.Errorf("rewound run of %s = %s", r.RunID, toJSON(run))
		}
	}
}
