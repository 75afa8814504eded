package engine

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBatchSurvivesRestart: a batch cancelling 60 running runs is interrupted by a restart
// of the server and worker once its first chunk is done (one chunk at a time); afterwards every run is cancelled, each with
// exactly one cancel request in its history, and the batch reports 60 done.
func TestBatchSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cl := startCluster(t, dir, Deps{})
	ctx := context.Background()
	g := mustGraph(t, `{"format": "trellis.graph/v1", "name": "W", "nodes": [{"id": "later", "kind": "wait", "config": {"duration": "1h"}}], "edges": []}`)
	const n = 60
	var ids []string
	for range n {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "wait", Version: 1, Definition: g, Input: map[string]any{}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	batch, err := cl.eng.StartBatch(ctx, BatchInput{Action: BatchCancel, RunIDs: ids, By: "test", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Restart once the batch has begun (or ended: then it only shows the result survives).
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if p, err := cl.eng.GetBatch(ctx, batch); err == nil && p.Done+p.Failed > 0 {
			t.Logf("restarting with %d of %d done", p.Done, p.Total)
			// A worker that does not answer the progress query in time leaves the batch
			// running with unknown counts, not an error (a 500 on the batch page).
			hurried := New(cl.c, Options{QueryTimeout: time.Nanosecond})
			if q, err := hurried.GetBatch(ctx, batch); err != nil {
				t.Errorf("progress without the query's answer: %v", err)
			} else if q.State == BatchRunning && !q.ResultsPartial {
				t.Errorf("progress without the query's answer = %+v, want it marked partial", q)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch did not begin")
		}
	}
	cl.stop()
	cl = startCluster(t, dir, Deps{})

	var p *BatchProgress
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if p, err = cl.eng.GetBatch(ctx, batch); err == nil && p.State != BatchRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch still running after the restart: %+v, %v", p, err)
		}
	}
	if p.State != BatchCompleted || p.Total != n || p.Done != n || p.Failed != 0 || len(p.Results) != n {
		t.Fatalf("batch = %+v", p)
	}
	seen := map[string]bool{}
	for _, r := range p.Results {
		if seen[r.RunID] {
			t.Errorf("run %s reported twice", r.RunID)
		}
		seen[r.RunID] = true
	}
	for _, id := range ids {
		waitRun(t, cl.eng, id, "cancelled", func(r *Run) bool { return r.Status == RunCancelled })
		h, err := cl.eng.RunHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c := strings.Count(string(h), "workflowExecutionCancelRequestedEventAttributes"); c != 1 {
			t.Errorf("run %s has %d cancel requests, want 1", id, c)
		}
	}
}
