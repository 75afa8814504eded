package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"trellis/store/storetest"
)

// rollupStoreQueueHistory is rollupHistory as recorded before version rollupHere: every
// report a RecordRun activity on the store queue. No test writes it any more.
const rollupStoreQueueHistory = "rollup_store_queue"

// rollupReports counts a history's reports to the rollup: RecordRun activities scheduled (and
// on which queues) and RecordRunHere local activities, with how many of those kept the report.
type rollupReports struct {
	activities, here, kept int
	queues                 map[string]int
}

func countRollupReports(events []*historypb.HistoryEvent) rollupReports {
	out := rollupReports{queues: map[string]int{}}
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := ev.GetActivityTaskScheduledEventAttributes()
			if a.GetActivityType().GetName() == activityRecordRun {
				out.activities++
				out.queues[a.GetTaskQueue().GetName()]++
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			a := ev.GetMarkerRecordedEventAttributes()
			var m localActivityMarker
			if a.GetMarkerName() != "LocalActivity" || json.Unmarshal(payloadJSON(a.GetDetails()["data"]), &m) != nil ||
				m.ActivityType != activityRecordRunHere {
				continue
			}
			out.here++
			var kept bool
			if json.Unmarshal(payloadJSON(a.GetDetails()["result"]), &kept) == nil && kept {
				out.kept++
			}
		}
	}
	return out
}

func runHistory(t *testing.T, c client.Client, runID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(context.Background(), runID, "", false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	return events
}

// TestRollupHistoriesRecordWhere: the rollup recorded before version rollupHere sends every
// report to the store queue and replays doing so (TestReplayHistories); the one recorded
// since keeps them on serve's worker, with no RecordRun activity, so that its end costs the
// run no round trip.
func TestRollupHistoriesRecordWhere(t *testing.T) {
	read := func(name string) []*historypb.HistoryEvent {
		raw, err := os.ReadFile(filepath.Join(historyDir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var hist historypb.History
		if err := (temporalproto.CustomJSONUnmarshalOptions{}).Unmarshal(raw, &hist); err != nil {
			t.Fatal(err)
		}
		return hist.Events
	}
	if r := countRollupReports(read(rollupStoreQueueHistory)); r.activities < 3 || r.here != 0 ||
		r.queues[StoreTaskQueue(DefaultTaskQueue)] != r.activities {
		t.Errorf("%s: %+v; want 3 or more RecordRun on the store queue and no local one", rollupStoreQueueHistory, r)
	}
	if r := countRollupReports(read(rollupHistory)); r.activities != 0 || r.here < 3 || r.kept != r.here {
		t.Errorf("%s: %+v; want 3 or more reports kept by local activities and no RecordRun", rollupHistory, r)
	}
}

// TestRunRollupFromRemoteWorker: runs executed by a worker away from the store (trellis
// worker, Remote) still report to serve's store: the local activity answers that it kept
// nothing and the run sends each report to the store queue, which only serve's worker polls.
// The start, the wait at the approval and the end all arrive, the end before the run closes.
func TestRunRollupFromRemoteWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db, other := storetest.MustOpen(t), storetest.MustOpen(t)
	// Serve's worker polls only the store queue, so that every workflow task is the remote's.
	cl := startCluster(t, t.TempDir(), Deps{Tasks: storeTasks{db}, StoreQueueOnly: true})
	remote := NewWorker(cl.c, Deps{Remote: true, Tasks: storeTasks{other}, Logger: quietLogger()})
	if err := remote.Start(); err != nil {
		t.Fatal(err)
	}
	defer remote.Stop()

	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: refundGraph(t, ""),
		Input: refundInput, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	waitTask(t, db, id, "is open in serve's store", isOpen)
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		open, err := db.OpenRunsByVersion(ctx, "refund")
		if err == nil && open[1] != nil && open[1].Runs[RunWaiting] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rollup never showed the run waiting: %+v (%v)", open, err)
		}
	}
	if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 2},
		By: "bob", Groups: []string{"finance"}}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, id, "ended", ended)
	all, err := db.VersionRollup(ctx, "refund", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if v1 := all[1]; len(all) != 1 || v1 == nil || v1.Runs[RunCompleted] != 1 || v1.Completed != 1 || v1.P50 == nil {
		t.Fatalf("rollup after the end = %+v", all)
	}
	if n, _ := other.OpenRunsByVersion(ctx, "refund"); len(n) != 0 {
		t.Errorf("the remote worker's own store has rollup rows: %+v", n)
	}
	r := countRollupReports(runHistory(t, cl.c, id))
	if r.here < 3 || r.kept != 0 || r.activities != r.here || r.queues[StoreTaskQueue(DefaultTaskQueue)] != r.activities {
		t.Errorf("reports in the history: %+v; want each local one declined and sent to the store queue", r)
	}
}

// TestRunRollupEndRecordedHere: on serve's worker a run's reports cost no activity: the
// history of a finished run has none, and its end is in the store as soon as it closed.
func TestRunRollupEndRecordedHere(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	g := mustGraph(t, `{"format": "trellis.graph/v1", "nodes": [
		{"id": "a", "kind": "transform", "config": {"value": "input.n + 1"}},
		{"id": "b", "kind": "transform", "config": {"value": "nodes.a.output * 2"}}],
	  "edges": [{"from": "a", "to": "b"}]}`)
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "double", Version: 3, Definition: g,
		Input: map[string]any{"n": 1}, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := cl.c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	all, err := db.VersionRollup(ctx, "double", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if v3 := all[3]; v3 == nil || v3.Runs[RunCompleted] != 1 || v3.Ended != 1 {
		t.Fatalf("rollup when the run closed = %+v", all)
	}
	figs, err := db.VersionNodeFigures(ctx, "double", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if f := figs[3]; f["a"] == nil || f["b"] == nil || f["b"].Runs != 1 {
		t.Errorf("node figures = %s", toJSON(figs))
	}
	r := countRollupReports(runHistory(t, cl.c, id))
	if r.activities != 0 || r.here != 2 || r.kept != 2 {
		t.Errorf("reports in the history: %+v; want the start and the end kept by local activities", r)
	}
}
