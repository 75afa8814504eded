package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/store"
	"trellis/store/storetest"
)

// approvalCluster is the embedded server with the real store as the task store.
func approvalCluster(tb testing.TB, dir string, db *store.DB) *testCluster {
	return startCluster(tb, dir, Deps{Tasks: storeTasks{db}})
}

// waitTask polls the store until the run's review task satisfies ok.
func waitTask(tb testing.TB, db *store.DB, runID, what string, ok func(*store.Task) bool) *store.Task {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last *store.Task
	for time.Now().Before(deadline) {
		t, err := db.GetTaskByNode(context.Background(), runID, "review")
		if err == nil {
			last = t
			if ok(t) {
				return t
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("run %s: gave up waiting until the task %s; last %+v", runID, what, last)
	return nil
}

// startWaitingRefund starts the refund run and answers its id and its state once it waits
// for the review.
func startWaitingRefund(tb testing.TB, cl *testCluster, startedBy string) (string, *Run) {
	tb.Helper()
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "refund", Version: 1, Definition: refundGraph(tb, ""),
		Input: refundInput, StartedBy: startedBy})
	if err != nil {
		tb.Fatal(err)
	}
	return id, waitRun(tb, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
}

func isOpen(t *store.Task) bool { return t.State == store.TaskOpen }

func decisionReason(err error) string {
	var de *DecisionError
	if errors.As(err, &de) {
		return de.Reason
	}
	return fmt.Sprintf("<%v>", err)
}

// TestApprovalOnEmbeddedServer is the whole human step on the real server: the run waits,
// the group sees the task, an outsider and bad data are refused, a member decides, the run
// goes on along the chosen port, and a second decision is refused naming the first.
func TestApprovalOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	id, run := startWaitingRefund(t, cl, "ann")
	if run.Nodes["review"].Status != NodeWaiting || run.Nodes["classify"].Status != NodeCompleted {
		t.Errorf("nodes while waiting = %s", toJSON(run.Nodes))
	}
	bob := &store.User{Name: "bob", Groups: []string{"finance"}}
	page, err := db.ListTasks(ctx, store.TaskFilter{User: bob, View: store.TaskViewGroups})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].RunID != id || page.Tasks[0].Title != "Refund 120 EUR to Ada" {
		t.Fatalf("finance's inbox = %+v, %v", page.Tasks, err)
	}

	refused := []struct {
		name string
		d    Decision
		want string
		msg  string
	}{
		{"outsider", Decision{Outcome: "approve", Data: map[string]any{"amount": 1}, By: "eve", Groups: []string{"ops"}}, DecisionForbidden, "eve may not decide"},
		{"bad data", Decision{Outcome: "approve", Data: map[string]any{"amount": -5}, By: "bob", Groups: []string{"finance"}}, DecisionInvalid, "amount must be at least 0"},
		{"bad outcome", Decision{Outcome: "later", Data: map[string]any{"amount": 1}, By: "bob", Groups: []string{"finance"}}, DecisionInvalid, "outcome must be one of"},
	}
	for _, r := range refused {
		err := cl.eng.Decide(ctx, id, "review", r.d)
		var de *DecisionError
		if !errors.As(err, &de) || de.Reason != r.want || !strings.Contains(de.Message, r.msg) {
			t.Errorf("%s: Decide = %v, want %s saying %q", r.name, err, r.want, r.msg)
		}
		if r.want == DecisionInvalid && (len(de.Problems) == 0 || !slices.Contains([]string{"outcome", "data.amount"}, de.Problems[0].Field)) {
			t.Errorf("%s: problems = %+v", r.name, de.Problems)
		}
	}
	if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "reject", Data: map[string]any{"amount": 0}, Comment: "no receipt",
		By: "bob", Groups: []string{"finance"}}); err != nil {
		t.Fatalf("member's decision: %v", err)
	}
	// Decide returns once the task is closed, so the inbox already agrees.
	task, err := db.GetTaskByNode(ctx, id, "review")
	if err != nil || task.State != store.TaskDone || task.Decision.DecidedBy != "bob" || task.Decision.Comment != "no receipt" {
		t.Fatalf("task right after Decide = %+v, %v", task, err)
	}
	run = waitRun(t, cl.eng, id, "completed", ended)
	if run.Status != RunCompleted || toJSON(run.Output) != `{"tell":"rejected by bob"}` || run.Nodes["pay"].Status != NodeSkipped {
		t.Errorf("run = %s", toJSON(run))
	}
	err = cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 1}, By: "ann", Groups: []string{"finance"}})
	if decisionReason(err) != DecisionNotWaiting {
		t.Errorf("decision on an ended run = %v, want %s", err, DecisionNotWaiting)
	}
	if err := cl.eng.Decide(ctx, "run-nope", "review", Decision{Outcome: "approve", By: "ann"}); decisionReason(err) != DecisionNoRun {
		t.Errorf("decision on no run = %v", err)
	}
}

// TestApprovalRaceOnEmbeddedServer: reviewers deciding at once; exactly one wins and the
// others learn who did.
func TestApprovalRaceOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	id, _ := startWaitingRefund(t, cl, "")
	waitTask(t, db, id, "is open", isOpen)
	names := []string{"ann", "bob", "cy", "dee"}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			errs[i] = cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": i + 1},
				By: n, Groups: []string{"finance"}})
		})
	}
	wg.Wait()
	task, err := db.GetTaskByNode(ctx, id, "review")
	if err != nil || task.Decision == nil {
		t.Fatalf("task = %+v, %v", task, err)
	}
	winner := task.Decision.DecidedBy
	var wins []string
	for i, err := range errs {
		switch {
		case err == nil:
			wins = append(wins, names[i])
		case decisionReason(err) != DecisionDecided || !strings.Contains(err.Error(), "decided by "+winner):
			t.Errorf("%s: %v, want refused naming %s", names[i], err, winner)
		}
	}
	if !slices.Equal(wins, []string{winner}) {
		t.Errorf("winners = %v, the store says %s", wins, winner)
	}
	run := waitRun(t, cl.eng, id, "completed", ended)
	if want := fmt.Sprintf(`{"pay":"paid %d"}`, slices.Index(names, winner)+1); toJSON(run.Output) != want {
		t.Errorf("output %s, want %s", toJSON(run.Output), want)
	}
}

// TestApprovalDueOnEmbeddedServer uses a due of a few seconds: one run decides itself,
// another escalates and is then decided by the new group.
func TestApprovalDueOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	auto, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Input: refundInput,
		Definition: refundGraph(t, `, "due": "2s", "on_due": {"outcome": "reject"}`)})
	if err != nil {
		t.Fatal(err)
	}
	esc, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Input: refundInput,
		Definition: refundGraph(t, `, "due": "2s", "on_due": {"escalate_to": "group:managers"}`)})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, cl.eng, auto, "decided when due", ended)
	if run.Status != RunCompleted || toJSON(run.Output) != `{"tell":"rejected by system"}` {
		t.Errorf("auto run = %s", toJSON(run))
	}
	if task := waitTask(t, db, auto, "is closed", func(t *store.Task) bool { return t.State == store.TaskDone }); task.Decision.DecidedBy != SystemActor ||
		historyKinds(task)[1] != store.TaskEventAutoDecided {
		t.Errorf("auto task = %+v, history %v", task.Decision, historyKinds(task))
	}

	task := waitTask(t, db, esc, "is escalated", func(t *store.Task) bool { return t.Assignee == "group:managers" })
	if !slices.Equal(historyKinds(task), []string{store.TaskEventCreated, store.TaskEventEscalated}) || task.State != store.TaskOpen {
		t.Fatalf("escalated task = %+v, history %v", task, historyKinds(task))
	}
	mia := &store.User{Name: "mia", Groups: []string{"managers"}}
	if page, _ := db.ListTasks(ctx, store.TaskFilter{User: mia, View: store.TaskViewGroups}); len(page.Tasks) != 1 {
		t.Errorf("managers' inbox has %d tasks", len(page.Tasks))
	}
	err = cl.eng.Decide(ctx, esc, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 3}, By: "bob", Groups: []string{"finance"}})
	if decisionReason(err) != DecisionForbidden {
		t.Errorf("finance after the escalation: %v", err)
	}
	if err := cl.eng.Decide(ctx, esc, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 3}, By: "mia", Groups: []string{"managers"}}); err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, cl.eng, esc, "completed", ended); toJSON(run.Output) != `{"pay":"paid 3"}` {
		t.Errorf("escalated run = %s", toJSON(run))
	}
}

// TestApprovalSurvivesRestart stops the server while a task is open: the task is still in
// the inbox afterwards, and deciding it completes the run.
func TestApprovalSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	dir := t.TempDir()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, dir, db)
	id, _ := startWaitingRefund(t, cl, "")
	cl.stop()

	cl = approvalCluster(t, dir, db)
	ann := &store.User{Name: "ann", Groups: []string{"finance"}}
	page, err := db.ListTasks(ctx, store.TaskFilter{User: ann, View: store.TaskViewGroups})
	if err != nil || len(page.Tasks) != 1 || page.Tasks[0].RunID != id || page.Tasks[0].State != store.TaskOpen {
		t.Fatalf("inbox after restart = %+v, %v", page.Tasks, err)
	}
	if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 7}, By: "ann", Groups: []string{"finance"}}); err != nil {
		t.Fatalf("decide after restart: %v", err)
	}
	if run := waitRun(t, cl.eng, id, "completed", ended); run.Status != RunCompleted || toJSON(run.Output) != `{"pay":"paid 7"}` {
		t.Errorf("run = %s", toJSON(run))
	}
}

// BenchmarkDecisionRoundTrip is a decision on the embedded server until the run has gone
// on and completed: p50/p99 of the whole round trip, and of Decide alone (the update until
// the task is closed). It manages its own repetitions (make bench runs it once).
func BenchmarkDecisionRoundTrip(b *testing.B) {
	ctx := context.Background()
	db := storetest.MustOpen(b)
	cl := approvalCluster(b, b.TempDir(), db)
	def := refundGraph(b, "")
	const rounds = 30
	var total, decide []time.Duration
	for b.Loop() {
		total, decide = total[:0], decide[:0]
		for i := range rounds {
			id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "refund", Version: 1, Definition: def, Input: refundInput})
			if err != nil {
				b.Fatal(err)
			}
			waitTask(b, db, id, "is open", isOpen)
			waitRun(b, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
			start := time.Now()
			if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": i},
				By: "ann", Groups: []string{"finance"}}); err != nil {
				b.Fatal(err)
			}
			decided := time.Now()
			var out any
			if err := cl.c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
				b.Fatal(err)
			}
			total = append(total, time.Since(start))
			decide = append(decide, decided.Sub(start))
		}
	}
	b.ReportMetric(percentileMS(total, 50), "p50_ms")
	b.ReportMetric(percentileMS(total, 99), "p99_ms")
	b.ReportMetric(percentileMS(decide, 50), "decide_p50_ms")
	b.ReportMetric(percentileMS(decide, 99), "decide_p99_ms")
}

// percentileMS is the p-th percentile of ds in milliseconds (nearest rank).
func percentileMS(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (p*len(s)+99)/100 - 1
	return float64(s[max(i, 0)].Microseconds()) / 1000
}

// approvalHistory is the recorded run of an approval that escalates and is then decided;
// TestReplayHistories replays it with the others. It was recorded before the store queue;
// approvalStoreHistory is the same run since.
const (
	approvalHistory      = "approval"
	approvalStoreHistory = "approval_store_queue"
)

// TestRecordApprovalHistory records approvalStoreHistory (go test ./engine/ -run TestRecordApprovalHistory -update).
func TestRecordApprovalHistory(t *testing.T) {
	if !*update {
		t.Skip("run with -update to record histories")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: approvalHistory, Version: 1, Input: refundInput, StartedBy: "recorder",
		Definition: refundGraph(t, `, "due": "1s", "on_due": {"escalate_to": "group:managers"}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitTask(t, db, id, "is escalated", func(t *store.Task) bool { return t.Assignee == "group:managers" })
	if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 4}, Comment: "recorded",
		By: "mia", Groups: []string{"managers"}}); err != nil {
		t.Fatal(err)
	}
	if run := waitRun(t, cl.eng, id, "ended", ended); run.Status != RunCompleted {
		t.Fatalf("run = %s", toJSON(run))
	}
	writeHistory(t, cl.c, id, approvalStoreHistory, "no-secret-in-this-run")
}

func TestApprovalHistoryIsRecorded(t *testing.T) {
	for _, name := range []string{approvalHistory, approvalStoreHistory} {
		b, err := os.ReadFile(filepath.Join(historyDir, name+".json"))
		if err != nil {
			t.Fatalf("%v; record it with -run TestRecordApprovalHistory -update", err)
		}
		for _, want := range []string{"WORKFLOW_EXECUTION_UPDATE_ACCEPTED", "approval.escalate", "approval.decided"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("the recorded history %s lacks %s", name, want)
			}
		}
	}
}

// TestDecisionNotTakenInTime: a decision the run cannot take before the caller's deadline
// (here no worker runs; after a restart, one busy replaying many runs) ends with an error
// that is context.DeadlineExceeded, which callers answer as "not confirmed in time"
// (503: "it may still take it; reload before deciding again"), not an internal error. The
// SDK's own timeout error does not match it. Once a worker is back, deciding again works,
// or is refused as already decided if the first one got through.
func TestDecisionNotTakenInTime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := approvalCluster(t, t.TempDir(), db)
	id, _ := startWaitingRefund(t, cl, "ann")
	cl.w.Stop()
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := cl.eng.Decide(dctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 1},
		By: "bob", Groups: []string{"finance"}})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Decide with no worker = %v (%T), want context.DeadlineExceeded", err, errors.Unwrap(err))
	}
	w := NewWorker(cl.c, Deps{Tasks: storeTasks{db}, Logger: quietLogger()})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	cl.w = w
	err = cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", Data: map[string]any{"amount": 1},
		By: "bob", Groups: []string{"finance"}})
	if err != nil && decisionReason(err) != DecisionDecided {
		t.Fatalf("deciding again with the worker back = %v", err)
	}
	if run := waitRun(t, cl.eng, id, "ended", ended); run.Status != RunCompleted || run.Nodes["pay"].Status != NodeCompleted {
		t.Fatalf("run after the worker came back = %s", toJSON(run))
	}
}
