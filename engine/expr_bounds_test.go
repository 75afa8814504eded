package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// Expressions that took the whole server down (issue #10): each run must fail with a clear
// message, without a workflow task failing (no retry loop), and the server must go on
// running other graphs, across a restart too.
func TestExpressionAttacksOnServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	dir := t.TempDir()
	ctx := context.Background()
	cl := startCluster(t, dir, Deps{})
	mem := func(b designer.Budget) string { return fmt.Sprintf("memory budget of %d bytes", b.Memory) }
	steps := func(b designer.Budget) string { return fmt.Sprintf("step budget of %d steps", b.Steps) }

	cases := []struct {
		name, graph string
		want        []string // in the run's error
	}{
		{name: "transform repeat", want: []string{"expression of node boom exceeded its " + mem(designer.DefaultBudget), "field value"},
			graph: `{"nodes": [{"id": "boom", "kind": "transform", "config": {"value": "len(repeat(repeat(\"a\", 999999), 999999))"}}], "edges": []}`},
		{name: "transform doubling", want: []string{"expression of node boom exceeded its " + mem(designer.DefaultBudget)},
			graph: `{"nodes": [{"id": "boom", "kind": "transform", "config": {"value": "len(reduce(1..24, #acc + #acc, \"a\"))"}}], "edges": []}`},
		{name: "transform template", want: []string{"expression of node boom exceeded its " + mem(designer.DefaultBudget), "field value"},
			graph: `{"nodes": [{"id": "boom", "kind": "transform", "config": {"value": {"a": "{{ join(map(1..1000000, \"x\"), \"\") }}"}}}], "edges": []}`},
		{name: "transform nested loops", want: []string{"expression of node boom exceeded its " + steps(designer.DefaultBudget)},
			graph: `{"nodes": [{"id": "boom", "kind": "transform", "config": {"value": "reduce(1..1000000, reduce(1..1000000, #acc + 1, 0), 0)"}}], "edges": []}`},
		{name: "edge when", want: []string{"expression of edge 0 (a → b) exceeded its " + mem(designer.WorkflowBudget), "field when"},
			graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
				{"id": "b", "kind": "transform", "config": {"value": "2"}}],
			  "edges": [{"from": "a", "to": "b", "when": "len(repeat(repeat(\"a\", 999999), 999999)) > 0"}]}`},
		{name: "edge when loops", want: []string{"expression of edge 0 (a → b) exceeded its " + steps(designer.WorkflowBudget)},
			graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
				{"id": "b", "kind": "transform", "config": {"value": "2"}}],
			  "edges": [{"from": "a", "to": "b", "when": "all(1..100000, all(1..100000, true))"}]}`},
		{name: "graph output", want: []string{"expression of the graph exceeded its " + mem(designer.WorkflowBudget), "field output"},
			graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}], "edges": [],
			  "output": "len(reduce(1..24, #acc + #acc, \"a\"))"}`},
		{name: "wait until", want: []string{"expression of node w exceeded its " + mem(designer.WorkflowBudget), "field until"},
			graph: `{"nodes": [{"id": "w", "kind": "wait", "config": {"until": "string(len(1..1000000000))"}}], "edges": []}`},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "attack", Version: 1, Definition: mustGraph(t, c.graph), StartedBy: "mallory"})
		if err != nil {
			t.Fatalf("%s: start: %v", c.name, err)
		}
		ids[i] = id
	}
	for i, c := range cases {
		r := waitRun(t, cl.eng, ids[i], "ended", ended)
		if r.Status != RunFailed || r.Error == nil {
			t.Errorf("%s: status %s, want failed: %s", c.name, r.Status, toJSON(r))
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.Error.Message, w) {
				t.Errorf("%s: error %q does not say %q", c.name, r.Error.Message, w)
			}
		}
		if r.Error.Type != ErrTypeExpr && r.Error.Type != ErrTypeBadWait {
			t.Errorf("%s: error type %s", c.name, r.Error.Type)
		}
		assertNoFailedTasks(t, cl, ids[i])
	}

	// on_error: continue applies to a refused evaluation like to any node failure.
	cont, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "attack", Version: 1, StartedBy: "mallory", Definition: mustGraph(t,
		`{"nodes": [{"id": "boom", "kind": "transform", "on_error": "continue", "config": {"value": "len(repeat(repeat(\"a\", 999999), 999999))"}},
			{"id": "handle", "kind": "transform", "config": {"value": "nodes.boom.output.error.message"}}],
		  "edges": [{"from": "boom", "to": "handle", "port": "error"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, cl.eng, cont, "ended", ended)
	if msg, _ := r.Nodes["handle"].Output.(string); r.Status != RunCompleted ||
		!strings.Contains(msg, "expression of node boom exceeded its "+mem(designer.DefaultBudget)) {
		t.Errorf("on_error continue: %s", toJSON(r))
	}

	// A run whose refused step comes after a restart fails cleanly too.
	slow, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "attack", Version: 1, StartedBy: "mallory", Definition: mustGraph(t,
		`{"nodes": [{"id": "pause", "kind": "wait", "config": {"duration": "3s"}},
			{"id": "boom", "kind": "transform", "config": {"value": "len(reduce(1..24, #acc + #acc, \"a\"))"}}],
		  "edges": [{"from": "pause", "to": "boom"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, slow, "the pause has started", func(r *Run) bool { return r.Nodes["pause"].Status == NodeRunning })
	cl.stop()
	cl = startCluster(t, dir, Deps{})
	r = waitRun(t, cl.eng, slow, "ended", ended)
	if r.Status != RunFailed || !strings.Contains(r.Error.Message, "expression of node boom exceeded its "+mem(designer.DefaultBudget)) {
		t.Errorf("after a restart: %s", toJSON(r))
	}
	for _, id := range ids {
		if r, err := cl.eng.GetRun(ctx, id); err != nil || r.Status != RunFailed {
			t.Errorf("run %s after a restart: %v, %v", id, err, r)
		}
	}

	// The server is healthy: an ordinary graph with real work in every place runs.
	ok, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "fine", Version: 1, StartedBy: "ann", Definition: mustGraph(t,
		`{"nodes": [{"id": "sum", "kind": "transform", "config": {"value": "sum(1..10000)"}},
			{"id": "text", "kind": "transform", "config": {"value": "len(join(map(1..10000, \"item-\" + string(#)), \",\"))"}},
			{"id": "w", "kind": "wait", "config": {"until": "'2001-02-03T04:05:06Z'"}}],
		  "edges": [{"from": "sum", "to": "text", "when": "nodes.sum.output > 5"}, {"from": "text", "to": "w"}],
		  "output": "{sum: nodes.sum.output, text: nodes.text.output, big: len(repeat(\"x\", 100000))}"}`)})
	if err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, cl.eng, ok, "ended", ended)
	if r.Status != RunCompleted || toJSON(r.Output) != `{"big":100000,"sum":50005000,"text":98893}` {
		t.Errorf("ordinary run: %s", toJSON(r))
	}
}

// assertNoFailedTasks: no workflow task of the run failed (the deadlock detector, a panic),
// as happened before on every retry. (A task may time out on a loaded machine.)
func assertNoFailedTasks(t *testing.T, cl *testCluster, runID string) {
	t.Helper()
	it := cl.c.GetWorkflowHistory(context.Background(), runID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", runID, err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			a := ev.GetWorkflowTaskFailedEventAttributes()
			// The server refuses to complete a run while new events wait (a status report's
			// activity completing late, on a loaded machine) and the worker runs the task
			// again with them: that is Temporal's protocol, not a failure of the run's code.
			if a.GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND {
				continue
			}
			t.Errorf("run %s: workflow task failed: %v", runID, a.GetFailure())
		}
	}
}

// countEvaluations counts, until the test ends, the expressions evaluated in workflow code
// whose source holds marker.
func countEvaluations(t *testing.T, marker string) func() int {
	var mu sync.Mutex
	n := 0
	f := func(src string) {
		if strings.Contains(src, marker) {
			mu.Lock()
			n++
			mu.Unlock()
		}
	}
	exprEvaluated.Store(&f)
	t.Cleanup(func() { exprEvaluated.Store(nil) })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// Reading a run never evaluates its expressions again: the state query replays a finished
// run, and replays take the recorded results of when, output and until.
func TestRunReadDoesNotEvaluate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	count := countEvaluations(t, "read_probe")
	cl := startCluster(t, t.TempDir(), Deps{})
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "probe", Version: 1, StartedBy: "ann", Definition: mustGraph(t,
		`{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "'read_probe'"}},
			{"id": "b", "kind": "transform", "config": {"value": "nodes.a.output + '!'"}},
			{"id": "c", "kind": "transform", "config": {"value": "'never'"}},
			{"id": "w", "kind": "wait", "config": {"until": "'2001-02-03T04:05:06Z' ?? 'read_probe'"}}],
		  "edges": [{"from": "a", "to": "b", "when": "nodes.a.output == 'read_probe'"},
			{"from": "a", "to": "c", "when": "nodes.a.output != 'read_probe'"}, {"from": "b", "to": "w"}],
		  "output": "{b: nodes.b.output, tag: 'read_probe'}"}`)})
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, cl.eng, id, "ended", ended)
	if r.Status != RunCompleted || r.Nodes["b"].Status != NodeCompleted || r.Nodes["c"].Status != NodeSkipped ||
		toJSON(r.Output) != `{"b":"read_probe!","tag":"read_probe"}` {
		t.Fatalf("run: %s", toJSON(r))
	}
	// Two whens, the until and the output (once each, unless a workflow task was retried).
	evaluated := count()
	if evaluated < 4 {
		t.Fatalf("%d evaluations during the run, want 4", evaluated)
	}
	for range 3 {
		r, err := cl.eng.GetRun(ctx, id)
		if err != nil || r.Nodes["b"].Status != NodeCompleted || r.Nodes["c"].Status != NodeSkipped {
			t.Fatalf("read: %v, %s", err, toJSON(r))
		}
	}
	hist := &historypb.History{}
	it := cl.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: WorkflowName})
	if err := replayer.ReplayWorkflowHistory(NewSDKLogger(quietLogger()), hist); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if n := count(); n != evaluated {
		t.Fatalf("reading and replaying the run evaluated its expressions again: %d evaluations, %d before", n, evaluated)
	}
}

// TestReplayOfOldRunsEvaluates shows the counter above sees evaluations in a replay: a run
// recorded before results were recorded evaluates its whens and output again, as it must
// for its history to replay.
func TestReplayOfOldRunsEvaluates(t *testing.T) {
	count := countEvaluations(t, "nodes.a.output")
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: WorkflowName})
	if err := replayer.ReplayWorkflowHistoryFromJSONFile(NewSDKLogger(quietLogger()),
		filepath.Join(historyDir, "transform.json")); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if n := count(); n < 2 {
		t.Fatalf("%d evaluations in the replay of an old run, want its two whens at least", n)
	}
}
