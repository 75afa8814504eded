package actions_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"trellis/actions"
	"trellis/engine"
	"trellis/store"
	"trellis/store/storetest"
)

// TestResolveScheduledFollowsSplit: a schedule on "latest" (version 0) follows the graph's
// traffic split firing by firing, keyed by each firing's run id, as manual starts do: 1,000
// firings under 90/10 land 90/10 within ±3 standard deviations, one firing always resolves
// the same way, and a schedule pinned to a version ignores the split.
func TestResolveScheduledFollowsSplit(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	a := actions.New(db, db, nil, nil)
	tr := actions.NewTriggers(a, db, nil)
	publishN(t, db, a, "sum", 3)
	input := map[string]any{"a": 1.0}

	// No split: latest.
	if v, def, err := tr.ResolveScheduled(ctx, "sum", 0, input, "run-x"); err != nil || v != 3 || def == nil {
		t.Fatalf("without a split: v%d, %v; want v3", v, err)
	}
	if _, err := a.SetTraffic(ctx, "sum", actions.TrafficRequest{Splits: []store.TrafficSplit{{Version: 1, Percent: 90}, {Version: 2, Percent: 10}}}, "ana"); err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	for i := range 1000 {
		// The engine's run ids for firings: the hash of the workflow id Temporal gives each one.
		runID := engine.ScheduledRunID(fmt.Sprintf("sched-%d-2026-12-06T10:%02d:%02dZ", i/3600, i/60%60, i%60))
		v, def, err := tr.ResolveScheduled(ctx, "sum", 0, input, runID)
		if err != nil || def == nil {
			t.Fatalf("firing %d: %v", i, err)
		}
		if again, _, _ := tr.ResolveScheduled(ctx, "sum", 0, input, runID); again != v {
			t.Fatalf("firing %s: v%d, then v%d", runID, v, again)
		}
		got[v]++
	}
	if got[1]+got[2] != 1000 || got[2] < 100-28 || got[2] > 100+28 {
		t.Fatalf("1,000 firings went %v, want about 900/100", got)
	}
	if v, _, err := tr.ResolveScheduled(ctx, "sum", 3, input, "run-x"); err != nil || v != 3 {
		t.Fatalf("pinned to v3 under a split: v%d, %v", v, err)
	}

	// A sticky key routes every firing with the same input to one version.
	if _, err := a.SetTraffic(ctx, "sum", actions.TrafficRequest{Splits: []store.TrafficSplit{{Version: 1, Percent: 50}, {Version: 2, Percent: 50}}, Sticky: "input.a"}, "ana"); err != nil {
		t.Fatal(err)
	}
	first, _, _ := tr.ResolveScheduled(ctx, "sum", 0, input, "run-0")
	for i := range 50 {
		if v, _, err := tr.ResolveScheduled(ctx, "sum", 0, input, fmt.Sprintf("run-%d", i)); err != nil || v != first {
			t.Fatalf("sticky firing %d: v%d, %v; want v%d", i, v, err, first)
		}
	}

	// The split naming a retired version falls back to the latest, as a manual start does;
	// an input that no longer fits is refused for good.
	if _, err := a.Promote(ctx, "sum", 2, "ana"); err != nil {
		t.Fatal(err)
	}
	if err := db.RetireVersion(ctx, "sum", 2); err != nil {
		t.Fatal(err)
	}
	if v, _, err := tr.ResolveScheduled(ctx, "sum", 0, input, "run-y"); err != nil || v != 3 {
		t.Fatalf("split on a retired version: v%d, %v; want v3", v, err)
	}
	if _, _, err := tr.ResolveScheduled(ctx, "sum", 0, map[string]any{"a": "one"}, "run-z"); !errors.Is(err, engine.ErrScheduleRefused) {
		t.Fatalf("an input that does not fit: %v, want ErrScheduleRefused", err)
	}
}
