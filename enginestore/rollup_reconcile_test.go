package enginestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"trellis/designer"
	"trellis/engine"
	"trellis/enginestore"
)

// rollupRow is a run's row in the run rollup, read from the store's file.
type rollupRow struct {
	status     string
	seq        int64
	started    int64
	ended, dur sql.NullInt64
}

func (fc *faultCluster) rollupRow(t *testing.T, runID string) (rollupRow, bool) {
	t.Helper()
	db, err := sql.Open("sqlite3", filepath.Join(fc.dbDir, "trellis.db")+"?_busy_timeout=10000&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var r rollupRow
	err = db.QueryRow(`SELECT status, seq, started_at, ended_at, duration_ms FROM run_rollup WHERE run_id = ?`, runID).
		Scan(&r.status, &r.seq, &r.started, &r.ended, &r.dur)
	if err == sql.ErrNoRows {
		return r, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return r, true
}

// waitRollupOpen waits until the run has reported itself to the rollup with status.
func (fc *faultCluster) waitRollupOpen(t *testing.T, runID, status string) rollupRow {
	t.Helper()
	var r rollupRow
	waitFor(t, fmt.Sprintf("run %s is %s in the rollup", runID, status), func() (bool, string) {
		var ok bool
		r, ok = fc.rollupRow(t, runID)
		return ok && r.status == status && !r.ended.Valid, fmt.Sprintf("%+v %v", r, ok)
	})
	return r
}

// TestRollupReconcileTerminated terminates a waiting run through the Temporal client, so
// that its code never reports its end: the rollup keeps it open until the reconciliation,
// which (report only) names it and changes nothing, then records it as failed at
// Temporal's close time; a second pass changes nothing, the run still waiting is left
// alone and ends by its own report, and the rollup's seq rule still holds for the row.
func TestRollupReconcileTerminated(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	rs := enginestore.Tasks{DB: fc.db}
	killed := fc.start(t, faultApproval, 1)
	waiting := fc.start(t, faultApproval, 2)
	for _, id := range []string{killed, waiting} {
		fc.waitNode(t, id, "review", engine.NodeWaiting)
	}
	before := fc.waitRollupOpen(t, killed, engine.RunWaiting)
	fc.waitRollupOpen(t, waiting, engine.RunWaiting)
	if chk, err := fc.eng.CheckRollup(ctx, rs, "", 10, true); err != nil || chk.Checked != 2 || len(chk.Findings) != 0 {
		t.Fatalf("a pass over two waiting runs: %+v, %v", chk, err)
	}

	if err := fc.c.TerminateWorkflow(ctx, killed, "", "stopped from outside"); err != nil {
		t.Fatal(err)
	}
	desc, err := fc.c.DescribeWorkflowExecution(ctx, killed, "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("the terminated run: %v, %v", desc.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	closedAt := desc.GetWorkflowExecutionInfo().GetCloseTime().AsTime()
	open, err := fc.db.OpenRunsByVersion(ctx, "fault")
	if err != nil || open[1] == nil || open[1].Total != 2 {
		t.Fatalf("open runs before the reconciliation: %+v, %v (want the terminated run still counted)", open[1], err)
	}

	chk, err := fc.eng.CheckRollup(ctx, rs, "", 10, false)
	if err != nil || chk.Checked != 2 || len(chk.Findings) != 1 {
		t.Fatalf("report-only pass: %+v, %v", chk, err)
	}
	f := chk.Findings[0]
	if f.Run.RunID != killed || f.Closed != "Terminated" || f.Status != engine.RunFailed || !f.EndedAt.Equal(closedAt) || f.Repaired {
		t.Fatalf("finding %+v, want run %s Terminated at %s as failed, not repaired", f, killed, closedAt)
	}
	if r, _ := fc.rollupRow(t, killed); r != before {
		t.Fatalf("the report-only pass changed the row: %+v, was %+v", r, before)
	}

	// A page of one row at a time: the pass goes through both.
	checked, fs, err := fc.eng.ReconcileRollup(ctx, rs, 1, true)
	if err != nil || checked != 2 || len(fs) != 1 || fs[0].Run.RunID != killed || !fs[0].Repaired {
		t.Fatalf("repair: checked %d, %+v, %v", checked, fs, err)
	}
	after, _ := fc.rollupRow(t, killed)
	wantDur := closedAt.Sub(time.Unix(0, before.started)).Milliseconds()
	if after.status != engine.RunFailed || after.seq != before.seq || after.ended.Int64 != closedAt.UnixNano() || after.dur.Int64 != wantDur {
		t.Fatalf("row after the repair: %+v, want failed at %d, %d ms, seq %d", after, closedAt.UnixNano(), wantDur, before.seq)
	}
	stats, err := fc.db.VersionRollup(ctx, "fault", time.Time{})
	if v := stats[1]; err != nil || v == nil || v.Runs[engine.RunFailed] != 1 || v.Ended != 1 || v.P50 == nil || *v.P50 != wantDur {
		t.Fatalf("version stats after the repair: %+v, %v", v, err)
	}
	open, err = fc.db.OpenRunsByVersion(ctx, "fault")
	if err != nil || open[1] == nil || open[1].Total != 1 || open[1].Oldest.RunID != waiting {
		t.Fatalf("open runs after the repair: %+v, %v", open[1], err)
	}

	// A second pass finds nothing and changes nothing.
	if checked, fs, err := fc.eng.ReconcileRollup(ctx, rs, 10, true); err != nil || checked != 1 || len(fs) != 0 {
		t.Fatalf("second pass: checked %d, %+v, %v", checked, fs, err)
	}
	if r, _ := fc.rollupRow(t, killed); r != after {
		t.Fatalf("the second pass changed the row: %+v, was %+v", r, after)
	}

	// The run left alone ends by its own report.
	fc.decide(t, waiting, 5)
	fc.result(t, waiting)
	if r, _ := fc.rollupRow(t, waiting); r.status != engine.RunCompleted || !r.ended.Valid {
		t.Fatalf("the waiting run after its end: %+v", r)
	}

	// The seq rule: a late report of the terminated run at the seq it had (an activity in
	// flight when it was terminated) does not reopen it; a newer one (a reset run going
	// on) does, and the next pass closes it again.
	late := designer.RunReport{RunID: killed, GraphID: "fault", Version: 1, Status: engine.RunRunning, Seq: before.seq,
		StartedAt: time.Unix(0, before.started)}
	if err := fc.db.RecordRunReport(ctx, late); err != nil {
		t.Fatal(err)
	}
	if r, _ := fc.rollupRow(t, killed); r != after {
		t.Fatalf("a late report at the same seq changed the ended row: %+v", r)
	}
	late.Seq++
	if err := fc.db.RecordRunReport(ctx, late); err != nil {
		t.Fatal(err)
	}
	if r, _ := fc.rollupRow(t, killed); r.status != engine.RunRunning || r.ended.Valid {
		t.Fatalf("a newer report did not win: %+v", r)
	}
	if _, fs, err := fc.eng.ReconcileRollup(ctx, rs, 10, true); err != nil || len(fs) != 1 || !fs[0].Repaired {
		t.Fatalf("pass after the newer report: %+v, %v", fs, err)
	}
	if r, _ := fc.rollupRow(t, killed); r.status != engine.RunFailed || r.ended.Int64 != closedAt.UnixNano() || r.seq != late.Seq {
		t.Fatalf("row closed again: %+v", r)
	}
}

// TestRollupReconcileGoneRuns: a row whose run Temporal does not have (deleted, or past
// the namespace's retention) is not closed while the namespace has no Trellis runs at all
// (the wrong cluster, most likely); once it has, the row is recorded as failed.
func TestRollupReconcileGoneRuns(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	rs := enginestore.Tasks{DB: fc.db}
	started := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Millisecond)
	ghost := designer.RunReport{RunID: "run-ghost", GraphID: "fault", Version: 1, Status: engine.RunWaiting, Seq: 2, StartedAt: started}
	if err := fc.db.RecordRunReport(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	chk, err := fc.eng.CheckRollup(ctx, rs, "", 10, true)
	if err != nil || len(chk.Findings) != 1 || chk.Findings[0].Closed != "" || chk.Findings[0].Repaired || chk.Findings[0].RepairError == "" {
		t.Fatalf("pass with no run in Temporal: %+v, %v", chk, err)
	}
	if r, _ := fc.rollupRow(t, "run-ghost"); r.ended.Valid {
		t.Fatalf("the refused repair closed the row: %+v", r)
	}

	id := fc.start(t, faultApproval, 1)
	fc.waitNode(t, id, "review", engine.NodeWaiting)
	fc.waitRollupOpen(t, id, engine.RunWaiting)
	waitFor(t, "visibility lists run "+id, func() (bool, string) {
		ids, err := fc.eng.OpenRunIDs(ctx)
		return err == nil && len(ids) > 0, fmt.Sprint(ids, err)
	})
	checked, fs, err := fc.eng.ReconcileRollup(ctx, rs, 10, true)
	if err != nil || checked != 2 || len(fs) != 1 || fs[0].Run.RunID != "run-ghost" || !fs[0].Repaired || fs[0].Status != engine.RunFailed {
		t.Fatalf("pass with a run in Temporal: checked %d, %+v, %v", checked, fs, err)
	}
	if r, _ := fc.rollupRow(t, "run-ghost"); r.status != engine.RunFailed || !r.ended.Valid || r.seq != 2 {
		t.Fatalf("the gone run's row: %+v", r)
	}
	if r, _ := fc.rollupRow(t, id); r.ended.Valid {
		t.Fatalf("the waiting run's row was closed: %+v", r)
	}
}

// faultQuick ends at once.
const faultQuick = `{"format": "trellis.graph/v1", "nodes": [
	{"id": "done", "kind": "transform", "config": {"value": "'done ' + string(input.n)"}}], "edges": []}`

// TestRollupBackfill: runs whose rows are taken out of the rollup stand for runs from before
// it (which never report). The backfill finds those that started before the rollup's
// earliest row, in visibility, and adds them newest first: the open one at seq 0 with its
// live status, the completed one with Temporal's times; a limit of one a pass still adds
// both over two passes; a third finds none; and the open one's own end report wins later.
func TestRollupBackfill(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	rs := enginestore.Tasks{DB: fc.db}
	old := fc.start(t, faultQuick, 1)
	fc.result(t, old)
	oldDesc, err := fc.c.DescribeWorkflowExecution(ctx, old, "")
	if err != nil {
		t.Fatal(err)
	}
	oldInfo := oldDesc.GetWorkflowExecutionInfo()
	waiting := fc.start(t, faultApproval, 2)
	fc.waitNode(t, waiting, "review", engine.NodeWaiting)
	fc.waitRollupOpen(t, waiting, engine.RunWaiting)
	recent := fc.start(t, faultApproval, 3)
	fc.waitNode(t, recent, "review", engine.NodeWaiting)
	fc.waitRollupOpen(t, recent, engine.RunWaiting)
	if r, ok := fc.rollupRow(t, old); !ok || r.status != engine.RunCompleted {
		t.Fatalf("the quick run's row: %+v, %v", r, ok)
	}
	for _, id := range []string{old, waiting} {
		fc.storeSQL(t, `DELETE FROM run_rollup WHERE run_id = ?`, id)
		fc.storeSQL(t, `DELETE FROM run_node_rollup WHERE run_id = ?`, id)
	}

	if ms, err := fc.eng.BackfillRollup(ctx, rs, time.Now().Add(-engine.RollupBackfillGrace), 0, true); err != nil || len(ms) != 0 {
		t.Fatalf("runs younger than the grace: %+v, %v", ms, err)
	}
	var ms []engine.RollupMissing
	waitFor(t, "visibility has both runs' states", func() (bool, string) {
		ms, err = fc.eng.BackfillRollup(ctx, rs, time.Now(), 0, false)
		return err == nil && len(ms) == 2 && ms[0].Report.Status == engine.RunWaiting && ms[1].Report.Status == engine.RunCompleted,
			fmt.Sprintf("%+v, %v", ms, err)
	})
	// Visibility keeps times to the microsecond.
	start, end := oldInfo.GetStartTime().AsTime(), oldInfo.GetCloseTime().AsTime()
	if ms[0].Report.RunID != waiting || ms[1].Report.RunID != old || ms[0].Report.EndedAt != nil ||
		ms[1].Report.EndedAt == nil || !near(*ms[1].Report.EndedAt, end) || !near(ms[1].Report.StartedAt, start) {
		t.Fatalf("found %+v, want %s open then %s from %s to %s", ms, waiting, old, start, end)
	}
	if _, ok := fc.rollupRow(t, waiting); ok {
		t.Fatal("the report-only pass added a row")
	}

	ms, err = fc.eng.BackfillRollup(ctx, rs, time.Now(), 1, true)
	if err != nil || len(ms) != 1 || ms[0].Report.RunID != waiting || !ms[0].Repaired {
		t.Fatalf("first pass (limit 1): %+v, %v", ms, err)
	}
	if r, ok := fc.rollupRow(t, waiting); !ok || r.status != engine.RunWaiting || r.seq != 0 || r.ended.Valid {
		t.Fatalf("the waiting run's added row: %+v, %v", r, ok)
	}
	ms, err = fc.eng.BackfillRollup(ctx, rs, time.Now(), 1, true)
	if err != nil || len(ms) != 1 || ms[0].Report.RunID != old || !ms[0].Repaired {
		t.Fatalf("second pass (limit 1): %+v, %v", ms, err)
	}
	if r, ok := fc.rollupRow(t, old); !ok || r.status != engine.RunCompleted || !near(time.Unix(0, r.started), start) ||
		!near(time.Unix(0, r.ended.Int64), end) || r.dur.Int64 != ms[0].Report.EndedAt.Sub(ms[0].Report.StartedAt).Milliseconds() {
		t.Fatalf("the quick run's added row: %+v, %v; want %s to %s", r, ok, start, end)
	}
	if ms, err := fc.eng.BackfillRollup(ctx, rs, time.Now(), 1, true); err != nil || len(ms) != 0 {
		t.Fatalf("third pass: %+v, %v", ms, err)
	}
	stats, err := fc.db.VersionRollup(ctx, "fault", time.Time{})
	if v := stats[1]; err != nil || v == nil || v.Runs[engine.RunCompleted] != 1 || v.Runs[engine.RunWaiting] != 2 {
		t.Fatalf("version stats after the backfill: %+v, %v", v, err)
	}

	fc.decide(t, waiting, 7)
	fc.result(t, waiting)
	if r, _ := fc.rollupRow(t, waiting); r.status != engine.RunCompleted || !r.ended.Valid || r.seq == 0 {
		t.Fatalf("the added run after its own end report: %+v", r)
	}
}

// near says a and b are within a microsecond.
func near(a, b time.Time) bool { return a.Sub(b).Abs() < time.Microsecond }

// TestRollupReconcileReset: a reset closes the run's execution (Temporal says terminated)
// and goes on in a new one under the same id; the reconciliation asks for the run, not the
// execution, so it leaves the row open, and the new execution's end is the one recorded.
func TestRollupReconcileReset(t *testing.T) {
	fc := startFaultCluster(t)
	ctx := context.Background()
	rs := enginestore.Tasks{DB: fc.db}
	id := fc.start(t, faultApproval, 1)
	fc.waitNode(t, id, "review", engine.NodeWaiting)
	fc.waitRollupOpen(t, id, engine.RunWaiting)
	first := fc.c.GetWorkflow(ctx, id, "").GetRunID()
	var finish int64
	it := fc.c.GetWorkflowHistory(ctx, id, first, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() && finish == 0 {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			finish = ev.GetEventId()
		}
	}
	resp, err := fc.c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{Namespace: engine.Namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: first}, Reason: "test",
		WorkflowTaskFinishEventId: finish, RequestId: "reset-" + id})
	if err != nil {
		t.Fatal(err)
	}
	old, err := fc.c.DescribeWorkflowExecution(ctx, id, first)
	if err != nil || old.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("the reset's old execution: %v, %v", old.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	fc.waitNode(t, id, "review", engine.NodeWaiting)
	if chk, err := fc.eng.CheckRollup(ctx, rs, "", 10, true); err != nil || chk.Checked != 1 || len(chk.Findings) != 0 {
		t.Fatalf("pass after the reset: %+v, %v", chk, err)
	}
	if r, _ := fc.rollupRow(t, id); r.ended.Valid {
		t.Fatalf("the reset run's row was closed: %+v", r)
	}
	fc.decide(t, id, 3)
	fc.result(t, id)
	now, err := fc.c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil || now.GetWorkflowExecutionInfo().GetExecution().GetRunId() != resp.GetRunId() {
		t.Fatalf("the run after its end: %v, %v", now, err)
	}
	waitFor(t, "the reset run's end is in the rollup", func() (bool, string) {
		r, _ := fc.rollupRow(t, id)
		return r.status == engine.RunCompleted && r.ended.Valid, fmt.Sprintf("%+v", r)
	})
}
