package engine

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "record testdata/histories from the embedded server")

const historyDir = "testdata/histories"

// recordedHistories are the files TestRecordHistories writes; TestReplayHistories insists
// on all of them so that none goes missing unnoticed.
var recordedHistories = []string{"cancel", "expressions", "failure", "http_retry", "llm", "loop", "map", "on_error_continue",
	"subgraph", "subgraph_child", "transform", "wait",
	"held_retried", "held_skipped", "paused", "rewind", "migrated", "wait_capped", "rollup", "map_limit", "map_futures"}

type recording struct {
	name   string
	graph  string // $FLAKY and $REC are test server URLs
	input  any
	cancel bool
	want   string
}

var recordings = []recording{
	{name: "transform", want: RunCompleted, input: map[string]any{"n": 3},
		graph: `{"nodes": [
			{"id": "a", "kind": "transform", "config": {"value": "input.n"}},
			{"id": "big", "kind": "transform", "config": {"value": "'big'"}},
			{"id": "small", "kind": "transform", "config": {"value": {"size": "small", "n": "{{ nodes.a.output }}"}}},
			{"id": "r", "kind": "transform", "join": "any", "config": {"value": "nodes.big.output ?? nodes.small.output"}}],
		  "edges": [{"from": "a", "to": "big", "when": "nodes.a.output > 10"},
			{"from": "a", "to": "small", "when": "nodes.a.output <= 10"},
			{"from": "big", "to": "r"}, {"from": "small", "to": "r"}],
		  "output": "{ result: nodes.r.output, run: run.id }"}`},
	// Expressions in workflow code, evaluated once and recorded (expr_eval.go).
	{name: "expressions", want: RunCompleted, input: map[string]any{"n": 3},
		graph: `{"nodes": [
			{"id": "a", "kind": "transform", "config": {"value": "input.n * 2"}},
			{"id": "big", "kind": "transform", "config": {"value": "'big'"}},
			{"id": "small", "kind": "transform", "config": {"value": "'small'"}},
			{"id": "w", "kind": "wait", "config": {"until": "'2001-02-03T04:05:06Z'"}}],
		  "edges": [{"from": "a", "to": "big", "when": "nodes.a.output > 10"},
			{"from": "a", "to": "small", "when": "nodes.a.output <= 10"}, {"from": "small", "to": "w"}],
		  "output": "{ size: nodes.big.output ?? nodes.small.output, waited: nodes.w.output.waited_until }"}`},
	{name: "http_retry", want: RunCompleted, input: map[string]any{"n": 3},
		graph: `{"nodes": [{"id": "call", "kind": "http", "config": {"method": "POST", "url": "$FLAKY/items",
			"headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"}, "body": {"n": "{{ input.n }}"}},
			"retry": {"max_attempts": 4, "initial_interval": "1s", "backoff": 1}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.call.output.body.n"}}],
		  "edges": [{"from": "call", "to": "after"}]}`},
	{name: "wait", want: RunCompleted,
		graph: `{"nodes": [{"id": "pause", "kind": "wait", "config": {"duration": "1s"}},
			{"id": "past", "kind": "wait", "config": {"until": "'2001-02-03T04:05:06Z'"}}],
		  "edges": [{"from": "pause", "to": "past"}]}`},
	// An until further ahead than the worker's cap fails its node (wait_cap.go); the near one waits.
	{name: "wait_capped", want: RunFailed,
		graph: `{"nodes": [{"id": "near", "kind": "wait", "config": {"until": "'2001-02-03T04:05:06Z'"}},
			{"id": "far", "kind": "wait", "config": {"until": "'2999-01-01T00:00:00Z'"}}],
		  "edges": [{"from": "near", "to": "far"}]}`},
	{name: "subgraph", want: RunCompleted, input: map[string]any{"n": 21},
		graph: `{"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "child", "version": 2, "input": "{ x: input.n }"}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.sub.output.double + 1"}}],
		  "edges": [{"from": "sub", "to": "after"}]}`},
	{name: "on_error_continue", want: RunCompleted,
		graph: `{"nodes": [{"id": "call", "kind": "http", "on_error": "continue", "config": {"url": "$REC/missing"}},
			{"id": "ok", "kind": "transform", "config": {"value": "'fine'"}},
			{"id": "handle", "kind": "transform", "config": {"value": "nodes.call.output.error.type"}}],
		  "edges": [{"from": "call", "to": "ok"}, {"from": "call", "to": "handle", "port": "error"}]}`},
	{name: "failure", want: RunFailed,
		graph: `{"nodes": [{"id": "slow", "kind": "wait", "config": {"duration": "1h"}},
			{"id": "pause", "kind": "wait", "config": {"duration": "1s"}},
			{"id": "bad", "kind": "transform", "config": {"value": "int('abc')"}}],
		  "edges": [{"from": "pause", "to": "bad"}]}`},
	// Two llm nodes: the run's usage becomes search attributes when it ends (a version marker).
	{name: "llm", want: RunCompleted, input: map[string]any{"name": "Ann"},
		graph: `{"nodes": [{"id": "greet", "kind": "llm", "config": {"prompt": "Greet {{ input.name }}."}},
			{"id": "sum", "kind": "llm", "config": {"prompt": "Summarise: {{ nodes.greet.output.text }}"}}],
		  "edges": [{"from": "greet", "to": "sum"}]}`},
	// A map with an inline body: items in parallel, one failing and noted (kind_map.go).
	{name: "map", want: RunCompleted, input: map[string]any{"list": []any{1, "x", 3, 4}},
		graph: `{"nodes": [{"id": "m", "kind": "map", "config": {"items": "input.list", "concurrency": 2,
			"on_item_error": "continue", "node": {"kind": "transform", "config": {"value": "int(item) * 10 + index"}}}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.m.output.items"}}],
		  "edges": [{"from": "m", "to": "after"}]}`},
	// The same map with its transform items as futures (kind_map_futures.go), and an item
	// failing that stops it.
	{name: "map_futures", want: RunCompleted, input: map[string]any{"list": []any{1, "x", 3, 4, 5, 6}},
		graph: `{"nodes": [{"id": "m", "kind": "map", "config": {"items": "input.list", "concurrency": 3,
			"on_item_error": "continue", "node": {"kind": "transform", "config": {"value": "int(item) * 10 + index"}}}},
			{"id": "stop", "kind": "map", "on_error": "continue", "config": {"items": "[1, 'y', 3]",
			"node": {"kind": "transform", "config": {"value": "int(item)"}}}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.m.output.items"}}],
		  "edges": [{"from": "m", "to": "after"}, {"from": "m", "to": "stop"}]}`},
	// A map that records the worker's item limit (map_limit.go), the default here.
	{name: "map_limit", want: RunCompleted, input: map[string]any{"list": []any{1, 2, 3}},
		graph: `{"nodes": [{"id": "m", "kind": "map", "config": {"items": "input.list",
			"node": {"kind": "transform", "config": {"value": "item * 2"}}}}]}`},
	// A loop of child runs until its state holds, and a map with a graph body (kind_loop.go).
	{name: "loop", want: RunCompleted, input: map[string]any{"start": 4},
		graph: `{"nodes": [{"id": "l", "kind": "loop", "config": {"graph": "count", "version": 1,
			"init": "{ n: input.start, step: 2 }", "until": "state.n >= 8", "max_iterations": 5}},
			{"id": "m", "kind": "map", "config": {"items": "[1, 2]", "graph": "count", "version": 1,
			"input": "{ state: { n: index, step: item }, iteration: index }"}},
			{"id": "after", "kind": "transform", "config": {"value": "nodes.l.output.iterations"}}],
		  "edges": [{"from": "l", "to": "after"}]}`},
	{name: "cancel", want: RunCancelled, cancel: true,
		graph: `{"nodes": [{"id": "long", "kind": "wait", "config": {"duration": "1h"}},
			{"id": "after", "kind": "transform", "config": {"value": "1"}}],
		  "edges": [{"from": "long", "to": "after"}]}`},
}

// TestRecordHistories runs each recording on the real embedded server and writes its
// history (go test ./engine/ -run TestRecordHistories -update); -run 'TestRecordHistories/^llm$'
// records one alone.
func TestRecordHistories(t *testing.T) {
	if !*update {
		t.Skip("run with -update to record histories")
	}
	ctx := context.Background()
	flaky := newFlakyServer(t, 2)
	rec := newRecorder(t, 404, `{"error": "no such thing"}`)
	const secret = "hunter2-very-secret"
	chat := newChatServer(t, func(n int, _ map[string]any) chatReply {
		return chatAnswer("gpt-test", fmt.Sprintf("answer %d", n), 100*n, 20*n)
	})
	deps := Deps{Secrets: memSecrets{"TOKEN": secret, "OPENAI_KEY": llmTestKey},
		Versions: memVersions{"child@2": mustGraph(t, childDouble), "count@1": mustGraph(t, countBody)}, Providers: defaultProviders(chat.URL)}
	cl := startCluster(t, t.TempDir(), deps)
	if err := os.MkdirAll(historyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range recordings {
		t.Run(r.name, func(t *testing.T) {
			src := strings.NewReplacer("$FLAKY", flaky.URL, "$REC", rec.URL).Replace(r.graph)
			id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: r.name, Version: 1, Definition: mustGraph(t, src),
				Input: r.input, StartedBy: "recorder"})
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if r.cancel {
				waitRun(t, cl.eng, id, "running", func(run *Run) bool { return run.Nodes["long"].Status == NodeRunning })
				if err := cl.eng.CancelRun(ctx, id, "recording a cancellation"); err != nil {
					t.Fatal(err)
				}
			}
			run := waitRun(t, cl.eng, id, "ended", ended)
			if run.Status != r.want {
				t.Fatalf("%s: status %s, want %s: %s", r.name, run.Status, r.want, toJSON(run))
			}
			writeHistory(t, cl.c, id, r.name, secret)
			if r.name == "subgraph" {
				writeHistory(t, cl.c, id+".sub", "subgraph_child", secret)
			}
		})
	}
}

func writeHistory(t *testing.T, c client.Client, runID, name, secret string) {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), runID, "", false, 0)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	raw, err := proto.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("%s: the secret value is in the history", name)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(historyDir, name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d events, %d bytes", name, len(hist.Events), len(raw))
}

// TestReplayHistories replays every recorded history against the current interpreter; a
// change that breaks runs in flight fails here (see the GetVersion note on Interpreter).
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historyDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	for _, want := range recordedHistories {
		if !slices.Contains(names, want) {
			t.Errorf("history %s.json is missing; record with -update", want)
		}
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: WorkflowName})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(NewSDKLogger(quietLogger()), f); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}

// TestReplayCatchesChanges shows the replay test can fail: a workflow that does something
// else under the same name does not replay a recorded history.
func TestReplayCatchesChanges(t *testing.T) {
	f := filepath.Join(historyDir, "http_retry.json")
	if _, err := os.Stat(f); err != nil {
		t.Skip("no recorded history")
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(func(ctx workflow.Context, in RunInput) (any, error) {
		return nil, workflow.Sleep(ctx, time.Hour)
	}, workflow.RegisterOptions{Name: WorkflowName})
	if err := replayer.ReplayWorkflowHistoryFromJSONFile(NewSDKLogger(quietLogger()), f); err == nil {
		t.Fatal("a different workflow replayed the history without error")
	}
}

// TestReplayLLMRunFromBeforeUsage: a run with llm nodes recorded before the usage search
// attributes (the llm history without their marker and upserts) still replays.
func TestReplayLLMRunFromBeforeUsage(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(historyDir, "llm.json"))
	if err != nil {
		t.Skip("no recorded llm history")
	}
	var hist historypb.History
	if err := (temporalproto.CustomJSONUnmarshalOptions{}).Unmarshal(raw, &hist); err != nil {
		t.Fatal(err)
	}
	var old []*historypb.HistoryEvent
	for _, ev := range hist.Events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_MARKER_RECORDED, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			continue
		}
		ev.EventId = int64(len(old) + 1)
		old = append(old, ev)
	}
	if len(old) == len(hist.Events) {
		t.Fatal("the llm history has no usage marker to take out")
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: WorkflowName})
	if err := replayer.ReplayWorkflowHistory(NewSDKLogger(quietLogger()), &historypb.History{Events: old}); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
