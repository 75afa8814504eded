package engine

import (
	"context"
	"strings"
	"testing"
)

// countBody is a loop body: it adds input.state.step to input.state.n.
const countBody = `{"format": "trellis.graph/v1", "nodes": [
	{"id": "add", "kind": "transform", "config": {"value": "{ n: (input.state?.n ?? 0) + input.state.step, step: input.state.step, seen: input.iteration }"}}],
  "output": "nodes.add.output"}`

func loopGraph(config string) string {
	return `{"format": "trellis.graph/v1", "nodes": [
		{"id": "l", "kind": "loop", "config": ` + config + `},
		{"id": "done", "kind": "transform", "config": {"value": "'done'"}},
		{"id": "gave_up", "kind": "transform", "config": {"value": "'gave up'"}}],
	  "edges": [{"from": "l", "to": "done"}, {"from": "l", "to": "gave_up", "port": "exhausted"}]}`
}

func TestLoop(t *testing.T) {
	deps := Deps{Versions: memVersions{"count@1": mustGraph(t, countBody)}}
	tests := []struct {
		name      string
		config    string
		wantErr   string
		wantPort  string
		wantState string
		wantIters float64
		ran       string // which of done and gave_up completed
	}{
		{name: "until holds", config: `{"graph": "count", "version": 1, "init": "{ n: input.start, step: 2 }", "until": "state.n >= 10 && iteration == 3", "max_iterations": 5}`,
			wantPort: "out", wantState: `{"n":10,"seen":3,"step":2}`, wantIters: 3, ran: "done"},
		{name: "exhausted", config: `{"graph": "count", "version": 1, "init": "{ step: 1 }", "until": "state.n > 100", "max_iterations": 4}`,
			wantPort: "exhausted", wantState: `{"n":4,"seen":4,"step":1}`, wantIters: 4, ran: "gave_up"},
		{name: "no until runs every round", config: `{"graph": "count", "version": 1, "init": "{ step: 5 }", "max_iterations": 2}`,
			wantPort: "exhausted", wantState: `{"n":10,"seen":2,"step":5}`, wantIters: 2, ran: "gave_up"},
		{name: "until errors", config: `{"graph": "count", "version": 1, "init": "{ step: 1 }", "until": "int('x') > 1", "max_iterations": 3}`,
			wantErr: "until of node l failed after iteration 1"},
		{name: "until not a boolean", config: `{"graph": "count", "version": 1, "init": "{ step: 1 }", "until": "state.n", "max_iterations": 3}`,
			wantErr: "until of node l failed after iteration 1"},
		{name: "body fails", config: `{"graph": "count", "version": 1, "max_iterations": 3}`,
			wantErr: "iteration 1 of loop l (run run-test.l.1)"},
		{name: "body graph missing", config: `{"graph": "nope", "version": 1, "max_iterations": 3}`,
			wantErr: "graph nope version 1 does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runInTestEnv(t, mustGraph(t, loopGraph(tt.config)), map[string]any{"start": 4}, deps, nil)
			if tt.wantErr != "" {
				if res.err == nil || !strings.Contains(res.err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", res.err, tt.wantErr)
				}
				return
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			l := res.state.Nodes["l"]
			out := l.Output.(map[string]any)
			if l.Port != tt.wantPort || toJSON(out["state"]) != tt.wantState || out["iterations"] != tt.wantIters {
				t.Fatalf("loop ended on %s with %s, want %s with state %s after %v", l.Port, toJSON(out), tt.wantPort, tt.wantState, tt.wantIters)
			}
			if got := statuses(res.state); got[tt.ran] != NodeCompleted {
				t.Errorf("statuses = %v, want %s completed", got, tt.ran)
			}
		})
	}
}

// TestMapGraphBody: a map with a graph body runs a child per item (ids RUN.NODE.INDEX) with
// the input expression, in item order.
func TestMapGraphBody(t *testing.T) {
	deps := Deps{Versions: memVersions{"count@1": mustGraph(t, countBody)}}
	g := mustGraph(t, mapGraph("input.steps", `null, "graph": "count", "version": 1, "input": "{ state: { n: index * 100, step: item }, iteration: index }"`, ""))
	res := runInTestEnv(t, g, map[string]any{"steps": []any{1, 2, 3}}, deps, nil)
	if res.err != nil {
		t.Fatal(res.err)
	}
	items := res.state.Nodes["m"].Output.(map[string]any)["items"]
	if got, want := toJSON(items), `[{"n":1,"seen":0,"step":1},{"n":102,"seen":1,"step":2},{"n":203,"seen":2,"step":3}]`; got != want {
		t.Fatalf("items = %s, want %s", got, want)
	}
}

// TestLoopCancelStopsTheRound: cancelling a run stops the loop's round in flight, a child
// run on the embedded server, and the run ends cancelled.
func TestLoopCancelStopsTheRound(t *testing.T) {
	body := `{"format": "trellis.graph/v1", "nodes": [{"id": "long", "kind": "wait", "config": {"duration": "1h"}}]}`
	cl := startCluster(t, t.TempDir(), Deps{Versions: memVersions{"slow@1": mustGraph(t, body)}})
	g := mustGraph(t, loopGraph(`{"graph": "slow", "version": 1, "max_iterations": 3}`))
	ctx := context.Background()
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "looping", Version: 1, Definition: g, StartedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	child := id + ".l.1"
	waitRun(t, cl.eng, child, "the first round waits", func(r *Run) bool { return r.Nodes["long"].Status == NodeRunning })
	if err := cl.eng.CancelRun(ctx, id, "test"); err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, cl.eng, id, "ended", ended); r.Status != RunCancelled {
		t.Fatalf("run %s, want cancelled", r.Status)
	}
	if r := waitRun(t, cl.eng, child, "ended", ended); r.Status != RunCancelled {
		t.Fatalf("round %s, want cancelled", r.Status)
	}
}
