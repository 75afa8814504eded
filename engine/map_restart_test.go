package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// itemGate answers the items below open at once and holds the others until released,
// counting the requests for each item.
type itemGate struct {
	url     string
	open    int
	release chan struct{}
	mu      sync.Mutex
	calls   map[int]int
	held    int
	cond    *sync.Cond
}

func newItemGate(t *testing.T, open int) *itemGate {
	g := &itemGate{open: open, release: make(chan struct{}), calls: map[int]int{}}
	g.cond = sync.NewCond(&g.mu)
	srv := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		g.mu.Lock()
		g.calls[n]++
		hold := n >= g.open
		if hold {
			g.held++
			g.cond.Broadcast()
		}
		g.mu.Unlock()
		if hold {
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"n": n})
	})
	t.Cleanup(func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
	})
	g.url = srv.URL
	return g
}

// waitHeld waits until n requests are held (each held request is an item in flight); the
// deadline only keeps a broken map from hanging the test.
func (g *itemGate) waitHeld(t *testing.T, n int) {
	t.Helper()
	timeout := time.AfterFunc(90*time.Second, func() {
		g.mu.Lock()
		g.held = -1 << 30
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	defer timeout.Stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.held >= 0 && g.held < n {
		g.cond.Wait()
	}
	if g.held < 0 {
		t.Fatalf("fewer than %d items in flight after 90 s", n)
	}
}

// TestMapSurvivesRestart: a map of 20 http items, 4 at once, whose items from 8 on are held
// by the service. Once 4 are held, the first 8 have completed (a slot frees only when an
// item's completion is recorded); the server stops there and starts again on the same data.
// The run then completes with all 20 outputs in item order, and none of the first 8 items
// is called again.
func TestMapSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server twice")
	}
	dir := t.TempDir()
	gate := newItemGate(t, 8)
	cl := startCluster(t, dir, Deps{})
	g := mustGraph(t, mapGraph("0..19", `{"kind": "http", "config": {"url": "`+gate.url+`/", "query": {"n": "{{ index }}"}},
		"timeout": "5s", "retry": {"max_attempts": 10, "initial_interval": "200ms", "backoff": 1}}`, `, "concurrency": 4`))
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "map", Version: 1, Definition: g, StartedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	gate.waitHeld(t, 4)
	// The run's state counts the items: 8 completed of 20 while 4 are held.
	waitRun(t, cl.eng, id, "8 of 20 items completed", func(r *Run) bool {
		p := r.Nodes["m"].Items
		return p != nil && p.Total == 20 && p.Completed == 8 && p.Failed == 0
	})
	cl.stop()
	close(gate.release)

	cl = startCluster(t, dir, Deps{})
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted {
		t.Fatalf("run %s: %s", run.Status, toJSON(run))
	}
	if p := run.Nodes["m"].Items; p == nil || *p != (ItemProgress{Total: 20, Completed: 20}) {
		t.Errorf("items of the ended map = %+v, want 20 of 20", p)
	}
	items := run.Nodes["m"].Output.(map[string]any)["items"].([]any)
	if len(items) != 20 {
		t.Fatalf("%d items, want 20", len(items))
	}
	for i, it := range items {
		if got := it.(map[string]any)["body"].(map[string]any)["n"]; got != float64(i) {
			t.Fatalf("items[%d] holds the answer for %v", i, got)
		}
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	for n := range 20 {
		switch c := gate.calls[n]; {
		case n < 8 && c != 1:
			t.Errorf("item %d, completed before the restart, was called %d times", n, c)
		case c < 1:
			t.Errorf("item %d was never called", n)
		}
	}
	if run.Nodes["after"].Output != float64(20) {
		t.Errorf("after = %v, want 20 completed", fmt.Sprint(run.Nodes["after"].Output))
	}
}

// TestLoopSurvivesRestart: a loop whose body calls the service with its iteration; the
// service holds iteration 3. The server stops while it is held and starts again on the same
// data; the loop goes on from iteration 3, never calls iterations 1 and 2 again, and ends
// after 5 with the state every round added to.
func TestLoopSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server twice")
	}
	dir := t.TempDir()
	gate := newItemGate(t, 3)
	body := mustGraph(t, `{"format": "trellis.graph/v1", "nodes": [
		{"id": "call", "kind": "http", "config": {"url": "`+gate.url+`/", "query": {"n": "{{ input.iteration }}"}},
		 "timeout": "5s", "retry": {"max_attempts": 10, "initial_interval": "200ms", "backoff": 1}},
		{"id": "add", "kind": "transform", "config": {"value": "{ sum: (input.state?.sum ?? 0) + nodes.call.output.body.n }"}}],
	  "edges": [{"from": "call", "to": "add"}], "output": "nodes.add.output"}`)
	deps := Deps{Versions: memVersions{"step@1": body}}
	cl := startCluster(t, dir, deps)
	g := mustGraph(t, loopGraph(`{"graph": "step", "version": 1, "init": "{ sum: 0 }", "max_iterations": 5}`))
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "loop", Version: 1, Definition: g, StartedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	gate.waitHeld(t, 1)
	waitRun(t, cl.eng, id, "iteration 3 under way", func(r *Run) bool {
		p := r.Nodes["l"].Rounds
		return p != nil && *p == RoundProgress{Iteration: 3, Max: 5}
	})
	cl.stop()
	close(gate.release)

	cl = startCluster(t, dir, deps)
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted {
		t.Fatalf("run %s: %s", run.Status, toJSON(run))
	}
	if p := run.Nodes["l"].Rounds; p == nil || *p != (RoundProgress{Iteration: 5, Max: 5}) {
		t.Errorf("rounds of the ended loop = %+v, want iteration 5 of 5", p)
	}
	out := run.Nodes["l"].Output.(map[string]any)
	if toJSON(out["state"]) != `{"sum":15}` || out["iterations"] != float64(5) {
		t.Fatalf("loop output = %s, want sum 1+…+5 after 5 iterations", toJSON(out))
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	for n := 1; n <= 5; n++ {
		switch c := gate.calls[n]; {
		case n < 3 && c != 1:
			t.Errorf("iteration %d, done before the restart, was called %d times", n, c)
		case c < 1:
			t.Errorf("iteration %d was never called", n)
		}
	}
}
