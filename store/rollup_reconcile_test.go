package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"trellis/designer"
	"trellis/store"
	"trellis/store/storetest"
)

// TestRollupReconcileRows: the open rows page in run id order past ended ones; a close
// applies once, only at the seq read, keeps seq, and a newer report still wins over it;
// bad input is refused; the earliest start and a row's presence are read.
func TestRollupReconcileRows(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, ok, err := db.EarliestRollupStart(ctx); err != nil || ok {
		t.Fatalf("earliest start of an empty rollup: %v, %v", ok, err)
	}
	for i := range 5 {
		r := designer.RunReport{RunID: fmt.Sprintf("run-%d", i), GraphID: "g", Version: 1, Status: "waiting", Seq: 3,
			StartedAt: t0.Add(time.Duration(i) * time.Minute)}
		if i == 2 {
			end := r.StartedAt.Add(time.Second)
			r.Status, r.EndedAt = "completed", &end
		}
		if err := db.RecordRunReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	after := ""
	for {
		page, err := db.OpenRollupRuns(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			ids = append(ids, r.RunID)
			if r.Seq != 3 || r.Status != "waiting" || r.GraphID != "g" || r.Version != 1 {
				t.Fatalf("open row %+v", r)
			}
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].RunID
	}
	if fmt.Sprint(ids) != "[run-0 run-1 run-3 run-4]" {
		t.Fatalf("open rows %v", ids)
	}

	end := t0.Add(90 * time.Second)
	if changed, err := db.CloseRollupRun(ctx, "run-1", 2, "failed", end); err != nil || changed {
		t.Fatalf("close at a stale seq: %v, %v", changed, err)
	}
	if changed, err := db.CloseRollupRun(ctx, "run-1", 3, "failed", end); err != nil || !changed {
		t.Fatalf("close: %v, %v", changed, err)
	}
	if changed, err := db.CloseRollupRun(ctx, "run-1", 3, "failed", end.Add(time.Hour)); err != nil || changed {
		t.Fatalf("close twice: %v, %v", changed, err)
	}
	if open, err := db.RollupRunStillOpen(ctx, "run-1", 3); err != nil || open {
		t.Fatalf("run-1 still open: %v, %v", open, err)
	}
	stats, err := db.VersionRollup(ctx, "g", t0)
	if err != nil || stats[1].Runs["failed"] != 1 || stats[1].Ended != 2 {
		t.Fatalf("stats after the close: %+v, %v", stats[1], err)
	}
	// The duration is from the row's start (1 min) to the end: 30 s.
	if figures, err := db.VersionRollup(ctx, "g", t0.Add(time.Minute)); err != nil || figures[1].P95 == nil || *figures[1].P95 != 30_000 {
		t.Fatalf("duration of the closed run: %+v, %v", figures[1], err)
	}
	// A report at the seq it had changes nothing; a newer one opens it again.
	late := designer.RunReport{RunID: "run-1", GraphID: "g", Version: 1, Status: "running", Seq: 3, StartedAt: t0.Add(time.Minute)}
	if err := db.RecordRunReport(ctx, late); err != nil {
		t.Fatal(err)
	}
	if open, _ := db.RollupRunStillOpen(ctx, "run-1", 3); open {
		t.Fatal("a report at the closed row's seq opened it again")
	}
	late.Seq = 4
	if err := db.RecordRunReport(ctx, late); err != nil {
		t.Fatal(err)
	}
	if open, _ := db.RollupRunStillOpen(ctx, "run-1", 4); !open {
		t.Fatal("a newer report did not win over the close")
	}

	if _, err := db.CloseRollupRun(ctx, "run-3", 3, "running", end); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("close as running: %v", err)
	}
	if _, err := db.OpenRollupRuns(ctx, "", 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("limit 0: %v", err)
	}
	if at, ok, err := db.EarliestRollupStart(ctx); err != nil || !ok || !at.Equal(t0) {
		t.Fatalf("earliest start: %v, %v, %v", at, ok, err)
	}
	if has, err := db.RollupHasRun(ctx, "run-2"); err != nil || !has {
		t.Fatalf("has run-2: %v, %v", has, err)
	}
	if has, err := db.RollupHasRun(ctx, "run-9"); err != nil || has {
		t.Fatalf("has run-9: %v, %v", has, err)
	}
}
