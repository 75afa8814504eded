package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"trellis/designer"
	"trellis/internal/testsvc"
	"trellis/store/storetest"
)

// The benchmarks compare the interpreter with hand-written workflows. Their nodes are `http`
// nodes calling a local service that answers at once, and the hand-written workflow calls
// the same http activity with the same request and options, so the ratio measures what the
// interpreter adds (compiling, scheduling, state, the bigger input) and not the cost of any
// real work. (A test-only kind would not do: a run's definition must pass designer.Validate,
// which knows only the format's kinds.)
const handWorkflow = "BenchHandDiamond"

// benchService answers every request at once with a small JSON body.
func benchService(b *testing.B) string {
	srv := testsvc.New(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok": true}`)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// benchNode is an http node calling url.
func benchNode(id, url string) string {
	return fmt.Sprintf(`{"id": %q, "kind": "http", "config": {"url": %q}}`, id, url)
}

// handDiamond is the diamond written by hand: a root, width activities in parallel, a sink,
// each the http activity a node with config {"url": url} sends.
func handDiamond(ctx workflow.Context, width int, url string) (map[string]any, error) {
	run := func(id string) workflow.Future {
		c := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{ActivityID: id, StartToCloseTimeout: defaultTimeout,
			Summary: id, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: defaultAttempts,
				InitialInterval: defaultInitial, BackoffCoefficient: defaultBackoff, MaximumInterval: defaultMaxInterval}})
		return workflow.ExecuteActivity(c, activityHTTP, httpRequest{RunID: workflow.GetInfo(ctx).WorkflowExecution.ID,
			NodeID: id, Config: designer.HTTPConfig{URL: url}, Scope: map[string]any{}})
	}
	var res activityResult[any]
	if err := run("root").Get(ctx, &res); err != nil {
		return nil, err
	}
	futures := make([]workflow.Future, width)
	for i := range futures {
		futures[i] = run(fmt.Sprintf("m%d", i))
	}
	for _, f := range futures {
		if err := f.Get(ctx, &res); err != nil {
			return nil, err
		}
	}
	if err := run("sink").Get(ctx, &res); err != nil {
		return nil, err
	}
	return map[string]any{"sink": res.Output}, nil
}

func diamondGraph(width int, url string) designer.Graph {
	var nodes, edges []string
	nodes = append(nodes, benchNode("root", url), benchNode("sink", url))
	for i := 0; i < width; i++ {
		nodes = append(nodes, benchNode(fmt.Sprintf("m%d", i), url))
		edges = append(edges, fmt.Sprintf(`{"from": "root", "to": "m%d"}, {"from": "m%d", "to": "sink"}`, i, i))
	}
	return mustGraph(nil, `{"format": "trellis.graph/v1", "nodes": [`+strings.Join(nodes, ",")+`], "edges": [`+strings.Join(edges, ",")+`]}`)
}

// startBenchCluster is serve's worker, with a store: a run's reports to the run rollup cost
// what they cost in serve. The hand-written workflows report nothing.
func startBenchCluster(b *testing.B) *testCluster {
	b.Helper()
	cl := startCluster(b, b.TempDir(), Deps{Tasks: storeTasks{storetest.MustOpen(b)}})
	cl.w.RegisterWorkflowWithOptions(handDiamond, workflow.RegisterOptions{Name: handWorkflow})
	return cl
}

// runToEnd starts a run and waits for its result.
func runToEnd(b *testing.B, cl *testCluster, g designer.Graph) string {
	ctx := context.Background()
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "bench", Version: 1, Definition: g, StartedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var out any
	if err := cl.c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
		b.Fatalf("run %s: %v", id, err)
	}
	return id
}

func BenchmarkInterpreterOverhead(b *testing.B) {
	cl := startBenchCluster(b)
	ctx := context.Background()
	url := benchService(b)
	g := diamondGraph(18, url)
	// Warm up both paths (worker caches, task queues).
	runToEnd(b, cl, g)
	hand := func() {
		run, err := cl.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: DefaultTaskQueue}, handWorkflow, 18, url)
		if err != nil {
			b.Fatal(err)
		}
		var out any
		if err := run.Get(ctx, &out); err != nil {
			b.Fatal(err)
		}
	}
	hand()
	// Interleaved pairs, so that drift in the server (SQLite growth, GC) hits both alike;
	// medians, so that one slow fsync does not decide the figure.
	const pairs = 20
	var interp, handTimes []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range pairs {
			t0 := time.Now()
			runToEnd(b, cl, g)
			t1 := time.Now()
			hand()
			interp = append(interp, t1.Sub(t0))
			handTimes = append(handTimes, time.Since(t1))
		}
	}
	b.StopTimer()
	mi, mh := median(interp), median(handTimes)
	b.ReportMetric(float64(mi.Microseconds())/1000, "interpreter_ms")
	b.ReportMetric(float64(mh.Microseconds())/1000, "handwritten_ms")
	b.ReportMetric(float64(mi)/float64(mh), "ratio_x")
	// The median of each pair's own ratio: a burst of load from elsewhere that lasts a few
	// pairs moves both medians above, but a pair's two runs alike.
	ratios := make([]time.Duration, len(interp))
	for i := range interp {
		ratios[i] = time.Duration(1e6 * float64(interp[i]) / float64(handTimes[i]))
	}
	b.ReportMetric(float64(median(ratios))/1e6, "pair_ratio_x")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// tenNodeGraph: a root activity, four activities in parallel, a transform after each, and
// a transform that joins them.
func tenNodeGraph(url string) designer.Graph {
	return mustGraph(nil, `{"format": "trellis.graph/v1", "nodes": [
		`+benchNode("root", url)+`,
		`+benchNode("a1", url)+`, `+benchNode("a2", url)+`, `+benchNode("a3", url)+`, `+benchNode("a4", url)+`,
		{"id": "t1", "kind": "transform", "config": {"value": "string(nodes.a1.output.status) + '!'"}},
		{"id": "t2", "kind": "transform", "config": {"value": "string(nodes.a2.output.status) + '!'"}},
		{"id": "t3", "kind": "transform", "config": {"value": "string(nodes.a3.output.status) + '!'"}},
		{"id": "t4", "kind": "transform", "config": {"value": "string(nodes.a4.output.status) + '!'"}},
		{"id": "join", "kind": "transform", "config": {"value": "[nodes.t1.output, nodes.t2.output, nodes.t3.output, nodes.t4.output]"}}],
	  "edges": [{"from": "root", "to": "a1"}, {"from": "root", "to": "a2"}, {"from": "root", "to": "a3"}, {"from": "root", "to": "a4"},
		{"from": "a1", "to": "t1"}, {"from": "a2", "to": "t2"}, {"from": "a3", "to": "t3"}, {"from": "a4", "to": "t4"},
		{"from": "t1", "to": "join"}, {"from": "t2", "to": "join"}, {"from": "t3", "to": "join"}, {"from": "t4", "to": "join"}]}`)
}

func BenchmarkThroughput10Node(b *testing.B) {
	cl := startBenchCluster(b)
	g := tenNodeGraph(benchService(b))
	runToEnd(b, cl, g)
	// make bench runs each benchmark once (-benchtime 1x): a rate needs many runs anyway.
	const starters = 8
	runs := max(b.N, 100)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	t0 := time.Now()
	for range starters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(runs) {
				runToEnd(b, cl, g)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(runs)/elapsed.Seconds(), "runs/s")
}

// BenchmarkLargeGraph2000 runs 2,000 no-op activity nodes (20 layers of 100, each node
// after two of the layer before, each with an expression to compile) and reports the
// history it leaves, and first_task_ms: the median of three runs' first workflow task on a
// worker that has not compiled the definition before (a `trellis worker` elsewhere, or
// after a restart), which must stay far from the SDK's one-second deadlock limit.
func BenchmarkLargeGraph2000(b *testing.B) {
	cl := startBenchCluster(b)
	url := benchService(b)
	g := largeBenchGraph(url)
	p, err := compile(&g)
	if err != nil {
		b.Fatal(err)
	}
	var events, size int
	var firstTasks []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := runToEnd(b, cl, g)
		b.StopTimer()
		events, size = historySize(b, cl.c, id)
		for range 3 {
			firstTasks = append(firstTasks, coldFirstTask(b, cl, url))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(size), "history-bytes")
	b.ReportMetric(float64(p.events), "estimated-events")
	b.ReportMetric(float64(median(firstTasks).Microseconds())/1000, "first_task_ms")
}

// largeBenchGraph is layeredGraph's 2,000 nodes as http nodes calling url, each after the
// first layer with a template over a node before it, so that compiling them costs what
// compiling real nodes does.
func largeBenchGraph(url string) designer.Graph {
	g := layeredGraph(20, 100, "transform")
	for i := range g.Nodes {
		n := &g.Nodes[i]
		l, k := i/100, i%100
		u := url + "/n"
		if l > 0 {
			u = fmt.Sprintf("%s/n?after={{ nodes.n%d_%d.output.status }}", url, l-1, k)
		}
		n.Kind = designer.KindHTTP
		n.Config = json.RawMessage(fmt.Sprintf(`{"url": %q}`, u))
	}
	return g
}

var coldRuns atomic.Int64

// coldFirstTask starts a definition the worker has not seen, directly (StartRun would
// compile it in this process first), and returns its first workflow task's time from
// started to completed, as the server recorded it.
func coldFirstTask(b *testing.B, cl *testCluster, url string) time.Duration {
	ctx := context.Background()
	g := largeBenchGraph(url)
	g.Name = fmt.Sprintf("cold %d", coldRuns.Add(1))
	run, err := cl.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: DefaultTaskQueue}, WorkflowName,
		RunInput{GraphID: "bench", Version: 1, Definition: g, StartedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var out any
	if err := run.Get(ctx, &out); err != nil {
		b.Fatalf("cold run: %v", err)
	}
	var started time.Time
	it := cl.c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			started = ev.GetEventTime().AsTime()
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			b.Fatalf("the first workflow task failed: %v", ev.GetWorkflowTaskFailedEventAttributes().GetFailure())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			return ev.GetEventTime().AsTime().Sub(started)
		}
	}
	b.Fatal("no workflow task in the history")
	return 0
}

func historySize(b *testing.B, c client.Client, id string) (events, size int) {
	it := c.GetWorkflowHistory(context.Background(), id, "", false, 0)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		events++
		size += proto.Size(ev)
	}
	return events, size
}

// TestBenchGraphsCompile keeps make bench's graphs startable: they go through the same
// compile (designer's validation included) as any run, which make test would otherwise
// never ask of them.
func TestBenchGraphsCompile(t *testing.T) {
	const url = "http://127.0.0.1:9/bench"
	for name, g := range map[string]designer.Graph{
		"diamond": diamondGraph(18, url), "ten nodes": tenNodeGraph(url), "large": largeBenchGraph(url),
	} {
		if _, err := compile(&g); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
