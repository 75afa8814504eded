package engine

import (
	"context"
	"sync"
	"testing"
	"time"
)

// BenchmarkBulkCancel_1000 cancels 1,000 running runs (each waiting on a one-hour timer)
// through one batch workflow on the embedded server: the wall time from StartBatch until the
// batch has ended, and how many runs it failed on (0 expected).
func BenchmarkBulkCancel_1000(b *testing.B) {
	cl := startCluster(b, b.TempDir(), Deps{})
	ctx := context.Background()
	g := mustGraph(b, `{"format": "trellis.graph/v1", "name": "W", "nodes": [{"id": "later", "kind": "wait", "config": {"duration": "1h"}}], "edges": []}`)
	const n = 1000
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "wait", Version: 1, Definition: g, Input: map[string]any{}})
			ids[i] = id
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	id, err := cl.eng.StartBatch(ctx, BatchInput{Action: BatchCancel, RunIDs: ids, By: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var p *BatchProgress
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if p, err = cl.eng.GetBatch(ctx, id); err == nil && p.State != BatchRunning {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("batch still running after 10 minutes: %+v, %v", p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wall := time.Since(start)
	b.StopTimer()
	if p.Total != n || p.Done+p.Failed != n {
		b.Fatalf("batch = %d done, %d failed of %d", p.Done, p.Failed, p.Total)
	}
	b.ReportMetric(wall.Seconds(), "s")
	b.ReportMetric(float64(p.Failed), "failures")
}
