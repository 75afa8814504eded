package engine

import (
	"context"
	"testing"
	"time"

	"trellis/store"
	"trellis/store/storetest"
)

// The engine tests' task store is a RunRecorder, as enginestore's is.
var _ RunRecorder = storeTasks{}

// rollupHistory is the recorded run of TestRunRollupFromRuns (go test ./engine/ -run
// TestRunRollupFromRuns -update): reports at start, on waiting, on the move and at the end.
const rollupHistory = "rollup"

// TestRunRollupFromRuns: runs report themselves to the store: a run waiting at an approval
// is open and waiting, a run that moves counts under its new version, and once decided it
// is completed with its duration; a draft test run reports nothing. The rollup is in the
// store, so a restart of the server changes nothing of it.
func TestRunRollupFromRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: refundGraph(t, ""), Input: refundInput, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Draft: true, Definition: refundGraph(t, ""), Input: refundInput}); err != nil {
		t.Fatal(err)
	}
	waitRollup := func(what string, ok func(open map[int]*store.VersionOpenRuns, all map[int]*store.VersionRuns) bool) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			open, err1 := db.OpenRunsByVersion(ctx, "refund")
			all, err2 := db.VersionRollup(ctx, "refund", time.Now().Add(-time.Hour))
			if err1 == nil && err2 == nil && ok(open, all) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the rollup never showed %s: open %+v, all %+v (%v, %v)", what, open, all, err1, err2)
			}
		}
	}
	waitRollup("the run waiting", func(open map[int]*store.VersionOpenRuns, _ map[int]*store.VersionRuns) bool {
		return open[1] != nil && open[1].Runs[RunWaiting] == 1 && open[1].Oldest.RunID == id
	})
	if _, err := cl.eng.MigrateRun(ctx, id, MigrateRequest{Version: 2, Definition: mustGraph(t, refundV2), By: "dev"}); err != nil {
		t.Fatal(err)
	}
	waitRollup("the run on v2", func(open map[int]*store.VersionOpenRuns, _ map[int]*store.VersionRuns) bool {
		return open[1] == nil && open[2] != nil && open[2].Total == 1
	})
	if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 4}, By: "bob", Groups: []string{"finance"}}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, id, "ended", ended)
	// The end is recorded before the run closes.
	all, err := db.VersionRollup(ctx, "refund", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[2] == nil || all[2].Runs[RunCompleted] != 1 || all[2].Completed != 1 || all[2].P50 == nil {
		t.Fatalf("rollup after the end = %+v", all)
	}
	if open, _ := db.OpenRunsByVersion(ctx, "refund"); len(open) != 0 {
		t.Errorf("open runs after the end = %+v", open)
	}
	if *update {
		writeHistory(t, cl.c, id, rollupHistory, "no-secret-in-this-run")
	}
	// The nodes that ran, under the version the run ended on: pay and audit ran, tell did not.
	figs, err := db.VersionNodeFigures(ctx, "refund", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if f := figs[2]; f["review"] == nil || f["review"].Runs != 1 || f["audit"] == nil || f["pay"] == nil || f["tell"] != nil ||
		f["pay"].Failed != 0 || f["pay"].DurationP95Ms == nil {
		t.Errorf("node figures = %s", toJSON(figs))
	}
}
