package store_test

import (
	"context"
	"testing"
	"time"

	"trellis/designer"
	"trellis/store/storetest"
)

// TestRunsStartedSince: the graph list's counts come from one query over the rollup: runs
// of each graph started at or after the time, each run once however often it reported.
func TestRunsStartedSince(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for i, r := range []designer.RunReport{
		{RunID: "run-a1", GraphID: "a", Version: 1, Status: "running", Seq: 1, StartedAt: t0.Add(-25 * time.Hour)},
		{RunID: "run-a2", GraphID: "a", Version: 1, Status: "running", Seq: 1, StartedAt: t0.Add(-time.Hour)},
		{RunID: "run-a2", GraphID: "a", Version: 1, Status: "completed", Seq: 2, StartedAt: t0.Add(-time.Hour)},
		{RunID: "run-a3", GraphID: "a", Version: 2, Status: "waiting", Seq: 1, StartedAt: t0},
		{RunID: "run-b1", GraphID: "b", Version: 1, Status: "failed", Seq: 1, StartedAt: t0.Add(-23 * time.Hour)},
	} {
		if err := db.RecordRunReport(ctx, r); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	got, err := db.RunsStartedSince(ctx, t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a"] != 2 || got["b"] != 1 {
		t.Fatalf("counts = %v, want a: 2 (one is older), b: 1", got)
	}
	if got, err := db.RunsStartedSince(ctx, t0.Add(time.Minute)); err != nil || len(got) != 0 {
		t.Fatalf("none since later: %v, %v", got, err)
	}
}
