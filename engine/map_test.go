package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// mapGraph is a graph of one map node m with an inline body, and a transform after it.
func mapGraph(items, body, extra string) string {
	return `{"format": "trellis.graph/v1", "nodes": [
		{"id": "m", "kind": "map", "config": {"items": "` + items + `", "node": ` + body + extra + `}},
		{"id": "after", "kind": "transform", "config": {"value": "nodes.m.output.completed"}}],
	  "edges": [{"from": "m", "to": "after"}]}`
}

func TestMapInlineBody(t *testing.T) {
	list := []any{1, "x", 3, 4}
	tests := []struct {
		name      string
		items     string
		extra     string
		input     any
		wantErr   string
		wantItems string
		wantErrs  string
	}{
		{name: "outputs in item order", items: "input.list", input: map[string]any{"list": []any{5, 6, 7, 8, 9}},
			extra: `, "concurrency": 2`, wantItems: `[{"i":0,"v":50},{"i":1,"v":60},{"i":2,"v":70},{"i":3,"v":80},{"i":4,"v":90}]`, wantErrs: `[]`},
		{name: "empty list", items: "[]", wantItems: `[]`, wantErrs: `[]`},
		{name: "on_item_error continue", items: "input.list", input: map[string]any{"list": list},
			extra:     `, "on_item_error": "continue"`,
			wantItems: `[{"i":0,"v":10},null,{"i":2,"v":30},{"i":3,"v":40}]`, wantErrs: `[{"index":1,"message":`},
		{name: "on_item_error fail", items: "input.list", input: map[string]any{"list": list},
			wantErr: `item 1 of node m failed:`},
		{name: "items not a list", items: "input.s", input: map[string]any{"s": "abc"},
			wantErr: "items of node m is a STRING, not a list"},
		{name: "items null", items: "input.none", wantErr: "items of node m is a NULL, not a list"},
		{name: "too many items", items: "1..10001", wantErr: "node m has 10001 items, more than the limit of 10000"},
	}
	body := `{"kind": "transform", "config": {"value": "{ v: int(item) * 10, i: index }"}}`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runInTestEnv(t, mustGraph(t, mapGraph(tt.items, body, tt.extra)), tt.input, Deps{}, nil)
			if tt.wantErr != "" {
				if res.err == nil || !strings.Contains(res.err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", res.err, tt.wantErr)
				}
				if st := res.state.Nodes["m"]; st.Status != NodeFailed || !strings.Contains(st.Error.Message, tt.wantErr) {
					t.Fatalf("node m = %s", toJSON(st))
				}
				return
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			out, _ := res.state.Nodes["m"].Output.(map[string]any)
			if got := toJSON(out["items"]); got != tt.wantItems {
				t.Errorf("items = %s, want %s", got, tt.wantItems)
			}
			if got := toJSON(out["errors"]); !strings.HasPrefix(got, tt.wantErrs) {
				t.Errorf("errors = %s, want %s…", got, tt.wantErrs)
			}
		})
	}
}

// TestMapBatches: a map longer than a batch runs in child workflows and still hands on
// every output in item order.
func TestMapBatches(t *testing.T) {
	n := 2*mapBatchSize + 17
	g := mustGraph(t, mapGraph(fmt.Sprintf("0..%d", n-1), `{"kind": "transform", "config": {"value": "item + index + input.k"}}`,
		`, "concurrency": 50, "on_item_error": "continue"`))
	res := runInTestEnv(t, g, map[string]any{"k": 1}, Deps{}, nil)
	if res.err != nil {
		t.Fatal(res.err)
	}
	out := res.state.Nodes["m"].Output.(map[string]any)
	items := out["items"].([]any)
	if len(items) != n || out["completed"] != float64(n) || out["failed"] != float64(0) {
		t.Fatalf("got %d items, completed %v, failed %v", len(items), out["completed"], out["failed"])
	}
	if p := res.state.Nodes["m"].Items; p == nil || *p != (ItemProgress{Total: n, Completed: n}) {
		t.Errorf("progress over batches = %+v, want %d of %d", p, n, n)
	}
	for i, v := range items {
		if v != float64(2*i+1) {
			t.Fatalf("items[%d] = %v, want %d", i, v, 2*i+1)
		}
	}
}

// concurrencyServer answers GET /?n=N with {"n": N} and records the most requests it held
// at once. Each request waits until limit are in flight (or a generous deadline passes),
// so that a map running fewer at once than allowed shows it.
type concurrencyServer struct {
	*httptest.Server
	mu       sync.Mutex
	cond     *sync.Cond
	inFlight int
	peak     int
	total    int
}

func newConcurrencyServer(t *testing.T, limit int) *concurrencyServer {
	s := &concurrencyServer{}
	s.cond = sync.NewCond(&s.mu)
	s.Server = testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.inFlight++
		s.total++
		s.peak = max(s.peak, s.inFlight)
		s.cond.Broadcast()
		deadline := time.Now().Add(10 * time.Second)
		for s.inFlight < limit && time.Now().Before(deadline) {
			// Woken by the next request, or by the ticker below.
			s.cond.Wait()
		}
		s.inFlight--
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"n": r.URL.Query().Get("n")})
	}))
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				s.cond.Broadcast()
			}
		}
	}()
	t.Cleanup(func() { close(stop); s.Close() })
	return s
}

// TestMapHTTPConcurrencyOnServer: 50 http items at concurrency 5 on the embedded server
// never have more than 5 requests out, do have 5, and keep their outputs in item order.
func TestMapHTTPConcurrencyOnServer(t *testing.T) {
	srv := newConcurrencyServer(t, 5)
	cl := startCluster(t, t.TempDir(), Deps{})
	g := mustGraph(t, mapGraph("0..49", `{"kind": "http", "config": {"url": "`+srv.URL+`/", "query": {"n": "{{ index }}"}}}`,
		`, "concurrency": 5`))
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "map", Version: 1, Definition: g, StartedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted {
		t.Fatalf("run %s: %s", run.Status, toJSON(run))
	}
	srv.mu.Lock()
	peak, total := srv.peak, srv.total
	srv.mu.Unlock()
	if peak != 5 || total != 50 {
		t.Fatalf("peak %d requests at once of %d, want 5 of 50", peak, total)
	}
	items := run.Nodes["m"].Output.(map[string]any)["items"].([]any)
	for i, it := range items {
		if got := it.(map[string]any)["body"].(map[string]any)["n"]; got != fmt.Sprint(i) {
			t.Fatalf("items[%d] holds the answer for %v", i, got)
		}
	}
}

// TestMapInlineApprovals: a map of an inline approval opens one task per item, titled from
// the item, keeps the node waiting until the last is decided, and hands on the decisions in
// item order.
func TestMapInlineApprovals(t *testing.T) {
	a := newApprovalEnv(t)
	g := mustGraph(t, `{"nodes": [{"id": "check", "kind": "map", "config": {"items": "input.docs", "concurrency": 5,
		"node": {"kind": "approval", "config": {"title": "Check {{ item.id }} ({{ index + 1 }} of {{ len(input.docs) }})",
			"assignee": "group:finance", "outcomes": ["confirm", "drop"]}}}}]}`)
	input := map[string]any{"docs": []any{map[string]any{"id": "d1"}, map[string]any{"id": "d2"}, map[string]any{"id": "d3"}}}
	var titles []string
	var afterOne RunState
	a.at(5*time.Minute, func() {
		for i := range 3 {
			task, err := a.db.GetTaskByNode(context.Background(), "run-1", fmt.Sprintf("check.%d", i))
			if err != nil {
				t.Errorf("task of item %d: %v", i, err)
				continue
			}
			titles = append(titles, task.Title)
		}
	})
	decide := func(i int, outcome string) DecideRequest {
		return DecideRequest{Node: fmt.Sprintf("check.%d", i), Outcome: outcome, By: "ann", Groups: []string{"finance"}}
	}
	second := a.decideAt(10*time.Minute, decide(1, "drop"))
	a.at(11*time.Minute, func() { afterOne = a.state() })
	first := a.decideAt(20*time.Minute, decide(0, "confirm"))
	third := a.decideAt(30*time.Minute, decide(2, "confirm"))
	r := a.run(g, input)
	if r.err != nil {
		t.Fatalf("run failed: %v", r.err)
	}
	if want := "Check d1 (1 of 3),Check d2 (2 of 3),Check d3 (3 of 3)"; strings.Join(titles, ",") != want {
		t.Errorf("titles = %q, want %q", titles, want)
	}
	for i, u := range []*updateResult{first, second, third} {
		if !u.accepted || u.failed != nil {
			t.Errorf("decision %d: accepted %v, rejected %v, failed %v", i, u.accepted, u.rejected, u.failed)
		}
	}
	if afterOne.Status != RunWaiting || afterOne.Nodes["check"].Status != NodeWaiting {
		t.Errorf("after one of three decisions: run %s, check %s; want both waiting", afterOne.Status, afterOne.Nodes["check"].Status)
	}
	items := r.state.Nodes["check"].Output.(map[string]any)["items"].([]any)
	var outcomes []string
	for _, it := range items {
		outcomes = append(outcomes, fmt.Sprint(it.(map[string]any)["outcome"]))
	}
	if got := strings.Join(outcomes, ","); got != "confirm,drop,confirm" {
		t.Errorf("outcomes in item order = %s", got)
	}
}

// TestMapItemErrorsOnServer: on the embedded server, continue notes the failed items and
// goes on; fail stops launching at the first failure and fails the node, naming the item.
func TestMapItemErrorsOnServer(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/bad/") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `"fine"`)
	}))
	t.Cleanup(srv.Close)
	cl := startCluster(t, t.TempDir(), Deps{})
	body := `{"kind": "http", "config": {"url": "` + srv.URL + `/{{ int(item) % 3 == 1 ? 'bad' : 'ok' }}/{{ index }}"}}`
	run := func(extra string) *Run {
		mu.Lock()
		paths = nil
		mu.Unlock()
		id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "map", Version: 1,
			Definition: mustGraph(t, mapGraph("0..5", body, extra)), StartedBy: "tester"})
		if err != nil {
			t.Fatal(err)
		}
		return waitRun(t, cl.eng, id, "ended", ended)
	}

	r := run(`, "on_item_error": "continue", "concurrency": 2`)
	out, _ := r.Nodes["m"].Output.(map[string]any)
	if r.Status != RunCompleted || out["completed"] != float64(4) || out["failed"] != float64(2) {
		t.Fatalf("continue: run %s, output %s", r.Status, toJSON(out))
	}
	errs := toJSON(out["errors"])
	if !strings.HasPrefix(errs, `[{"index":1,"message":"`) || !strings.Contains(errs, `{"index":4,"message":"`) {
		t.Errorf("errors = %s", errs)
	}
	if items := toJSON(out["items"]); !strings.Contains(items, `"body":"fine"`) || strings.Count(items, "null") != 2 {
		t.Errorf("items = %s", items)
	}

	r = run(`, "concurrency": 1`)
	if r.Status != RunFailed || r.Nodes["m"].Status != NodeFailed || !strings.Contains(r.Nodes["m"].Error.Message, "item 1 of node m failed") {
		t.Fatalf("fail: run %s, node m %s", r.Status, toJSON(r.Nodes["m"]))
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(paths, " ") != "/ok/0 /bad/1" {
		t.Errorf("requests after the failure: %v, want none past item 1", paths)
	}
}
