package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"trellis/designer"
	"trellis/store/storetest"
)

// TestRunRollup: reports of one run arrive late and twice, and the end stays; outcomes count
// each run once by its last status, with nearest-rank duration percentiles; open runs count
// per version with the oldest; a run that moved counts under its new version.
func TestRunRollup(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rec := func(r designer.RunReport) {
		t.Helper()
		if err := db.RecordRunReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ended := func(id string, v int, status string, startMin, durMs int) {
		start := t0.Add(time.Duration(startMin) * time.Minute)
		end := start.Add(time.Duration(durMs) * time.Millisecond)
		tok := int64(10)
		rec(designer.RunReport{RunID: id, GraphID: "g", Version: v, Status: status, Seq: 9, StartedAt: start, EndedAt: &end, Tokens: &tok})
	}
	for i := range 20 {
		ended("run-c"+string(rune('a'+i)), 1, "completed", i, 100*(i+1))
	}
	ended("run-f", 1, "failed", 30, 50)
	// A late "running" report after the end changes nothing; the same report again neither.
	rec(designer.RunReport{RunID: "run-f", GraphID: "g", Version: 1, Status: "running", Seq: 1, StartedAt: t0.Add(30 * time.Minute)})
	ended("run-f", 1, "failed", 30, 50)
	rec(designer.RunReport{RunID: "run-o1", GraphID: "g", Version: 1, Status: "running", Seq: 1, StartedAt: t0.Add(5 * time.Minute)})
	rec(designer.RunReport{RunID: "run-o1", GraphID: "g", Version: 1, Status: "waiting", Seq: 2, StartedAt: t0.Add(5 * time.Minute)})
	rec(designer.RunReport{RunID: "run-o2", GraphID: "g", Version: 1, Status: "running", Seq: 1, StartedAt: t0.Add(1 * time.Minute)})
	rec(designer.RunReport{RunID: "run-o2", GraphID: "g", Version: 2, Status: "running", Seq: 2, StartedAt: t0.Add(1 * time.Minute)})
	rec(designer.RunReport{RunID: "run-x", GraphID: "other", Version: 1, Status: "running", Seq: 1, StartedAt: t0})
	if err := db.RecordRunReport(ctx, designer.RunReport{RunID: "run-bad", GraphID: "g", Status: "running"}); err == nil {
		t.Error("a report without a version was recorded")
	}

	out, err := db.VersionRollup(ctx, "g", t0)
	if err != nil {
		t.Fatal(err)
	}
	v1 := out[1]
	if v1 == nil || v1.Runs["completed"] != 20 || v1.Runs["failed"] != 1 || v1.Runs["waiting"] != 1 || v1.Ended != 21 || v1.Completed != 20 || v1.Tokens != 210 {
		t.Fatalf("v1 = %+v", v1)
	}
	// 21 durations: 50 and 100..2000; p50 is the 11th (1000), p95 the 20th (1900).
	if v1.P50 == nil || *v1.P50 != 1000 || v1.P95 == nil || *v1.P95 != 1900 {
		t.Errorf("p50, p95 = %v, %v", *v1.P50, *v1.P95)
	}
	if v2 := out[2]; v2 == nil || v2.Runs["running"] != 1 || v2.Ended != 0 || v2.P50 != nil {
		t.Errorf("v2 = %+v", v2)
	}
	late, err := db.VersionRollup(ctx, "g", t0.Add(10*time.Minute))
	if err != nil || late[1].Runs["completed"] != 10 {
		t.Errorf("window from 10 min = %+v, %v", late[1], err)
	}

	open, err := db.OpenRunsByVersion(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o := open[1]; o == nil || o.Total != 1 || o.Runs["waiting"] != 1 || o.Oldest.RunID != "run-o1" {
		t.Errorf("open v1 = %+v", o)
	}
	if o := open[2]; o == nil || o.Total != 1 || o.Oldest.RunID != "run-o2" || !o.Oldest.StartedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("open v2 = %+v", o)
	}
}

// TestNodeRollup: the nodes of an end report count once however often it is sent; per
// version and node, failures, the p95 duration and the cost.
func TestNodeRollup(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int64) *int64 { return &n }
	for i := range 20 {
		end := t0.Add(time.Minute)
		cost := 0.5
		r := designer.RunReport{RunID: fmt.Sprintf("run-%d", i), GraphID: "g", Version: 1, Status: "completed", Seq: 5, StartedAt: t0, EndedAt: &end,
			Nodes: []designer.NodeReport{{Node: "call", Failed: i%4 == 0, DurationMs: ms(int64(100 * (i + 1))), Cost: &cost}, {Node: "t"}}}
		for range 2 {
			if err := db.RecordRunReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	figs, err := db.VersionNodeFigures(ctx, "g", t0)
	if err != nil {
		t.Fatal(err)
	}
	call := figs[1]["call"]
	// 20 durations 100..2000: the 95th percentile is the 19th, 1900.
	if call == nil || call.Runs != 20 || call.Failed != 5 || call.DurationP95Ms == nil || *call.DurationP95Ms != 1900 || call.Cost != 10 {
		t.Fatalf("call = %+v", call)
	}
	if tf := figs[1]["t"]; tf == nil || tf.Runs != 20 || tf.Failed != 0 || tf.DurationP95Ms != nil {
		t.Errorf("t = %+v", tf)
	}
}
