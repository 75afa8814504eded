package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"trellis/internal/testsvc"
	"trellis/store/storetest"
)

// TestDurableAcrossRestart is the durability promise: a finished run can still be read
// and listed after a restart, and a run waiting on a timer completes after it.
func TestDurableAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	dir := t.TempDir()
	ctx := context.Background()
	cl := startCluster(t, dir, Deps{})

	quick := mustGraph(t, `{"nodes": [{"id": "hello", "kind": "transform", "config": {"value": "'hi ' + input.name"}}], "edges": []}`)
	doneID, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "quick", Version: 1, Definition: quick,
		Input: map[string]any{"name": "ann"}, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, doneID, "completed", ended)

	slow := mustGraph(t, `{"nodes": [{"id": "pause", "kind": "wait", "config": {"duration": "4s"}},
		{"id": "after", "kind": "transform", "config": {"value": "'woke'"}}], "edges": [{"from": "pause", "to": "after"}]}`)
	waitID, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "slow", Version: 2, Definition: slow, StartedBy: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, waitID, "the wait has started", func(r *Run) bool { return r.Nodes["pause"].Status == NodeRunning })
	cl.stop()

	cl = startCluster(t, dir, Deps{})
	// Node states come from a query, which a worker answers once it polls again after the
	// restart: wait for them rather than assume the first read has them.
	done := waitRun(t, cl.eng, doneID, "its node states are readable", func(r *Run) bool { return len(r.Nodes) > 0 })
	if done.Status != RunCompleted || toJSON(done.Output) != `{"hello":"hi ann"}` || done.Graph != "quick" ||
		done.Version != 1 || done.Nodes["hello"].Status != NodeCompleted || toJSON(done.Input) != `{"name":"ann"}` {
		t.Errorf("finished run after restart = %s", toJSON(done))
	}
	r := waitRun(t, cl.eng, waitID, "completed", ended)
	if r.Status != RunCompleted || toJSON(r.Output) != `{"after":"woke"}` || r.EndedAt == nil {
		t.Errorf("waiting run = %s", toJSON(r))
	}
	if p := r.Nodes["pause"]; p.EndedAt.Sub(*p.StartedAt) < 4*time.Second {
		t.Errorf("pause ended %v after it started, want at least 4s", p.EndedAt.Sub(*p.StartedAt))
	}

	// Visibility is eventually consistent; poll for both rows.
	var rows []RunSummary
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		rows, _, err = cl.eng.ListRuns(ctx, RunFilter{Status: RunCompleted})
		if err == nil && len(rows) == 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || len(rows) != 2 {
		t.Fatalf("completed runs = %s, %v; want both", toJSON(rows), err)
	}
	rows, _, err = cl.eng.ListRuns(ctx, RunFilter{GraphID: "slow", Version: 2})
	if err != nil || len(rows) != 1 || rows[0].RunID != waitID || rows[0].Status != RunCompleted || rows[0].Graph != "slow" {
		t.Errorf("runs of slow v2 = %s, %v", toJSON(rows), err)
	}
	if rows, _, err := cl.eng.ListRuns(ctx, RunFilter{GraphID: "slow", Version: 3}); err != nil || len(rows) != 0 {
		t.Errorf("runs of slow v3 = %s, %v; want none", toJSON(rows), err)
	}
	if _, _, err := cl.eng.ListRuns(ctx, RunFilter{Status: "sleeping"}); !errors.Is(err, ErrBadFilter) {
		t.Errorf("bad status filter: %v", err)
	}
	if _, err := cl.eng.GetRun(ctx, "run-nope"); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("GetRun of a missing run: %v", err)
	}
	if err := cl.eng.CancelRun(ctx, doneID, "too late"); !errors.Is(err, ErrRunClosed) {
		t.Errorf("cancel of a finished run: %v", err)
	}
}

// gatedServer answers 503 to every request until restarted is set; then it answers the
// first request 503 too and holds the next one until released. It goes by what the test
// has done, not by the clock: however slow the machine, the node is between attempts when
// the server stops and in flight after the restart.
type gatedServer struct {
	*httptest.Server
	hits      atomic.Int64
	restarted atomic.Bool
	after     atomic.Int64 // requests since restarted
	release   chan struct{}
}

func newGatedServer(t *testing.T) *gatedServer {
	g := &gatedServer{release: make(chan struct{})}
	g.Server = testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := g.hits.Add(1)
		if !g.restarted.Load() || g.after.Add(1) == 1 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"hit": %d}`, n)
	}))
	t.Cleanup(g.Close)
	t.Cleanup(func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
	})
	return g
}

// TestRetryingHTTPSurvivesRestart stops the server while an http node is between
// attempts; after the restart the retries go on, one more fails, and the next succeeds.
func TestRetryingHTTPSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	dir := t.TempDir()
	ctx := context.Background()
	srv := newGatedServer(t)
	cl := startCluster(t, dir, Deps{})
	g := mustGraph(t, strings.ReplaceAll(`{"nodes": [{"id": "call", "kind": "http", "config": {"url": "$URL/x"},
		"retry": {"max_attempts": 20, "initial_interval": "3s", "backoff": 1}}], "edges": []}`, "$URL", srv.URL))
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "retry", Version: 1, Definition: g, StartedBy: "t"})
	if err != nil {
		t.Fatal(err)
	}
	// Stop once the server has recorded attempt 1's failure and is waiting to retry.
	r := waitRun(t, cl.eng, id, "attempt 1 has failed", func(r *Run) bool { return r.Nodes["call"].Attempts >= 2 })
	if e := r.Nodes["call"].Error; e == nil || !strings.Contains(e.Message, "attempt 1 failed") || e.Type != ErrTypeHTTPStatus {
		t.Errorf("node error while retrying = %+v", e)
	}
	cl.stop()
	// Attempts before the stop all failed; usually one, more on a slow machine.
	before := srv.hits.Load()
	srv.restarted.Store(true)

	cl = startCluster(t, dir, Deps{})
	// While the attempt after the next is held by the server, GetRun shows the live attempt
	// and the last failure.
	held := int(before) + 2
	r = waitRun(t, cl.eng, id, "the held attempt is in flight", func(r *Run) bool { return r.Nodes["call"].Attempts >= held })
	call := r.Nodes["call"]
	if r.Status != RunRunning || call.Status != NodeRunning || call.Error == nil ||
		!strings.Contains(call.Error.Message, fmt.Sprintf("attempt %d failed: unexpected HTTP status 503", held-1)) {
		t.Errorf("run while retrying = %s", toJSON(r))
	}
	close(srv.release)
	r = waitRun(t, cl.eng, id, "completed", ended)
	call = r.Nodes["call"]
	if r.Status != RunCompleted || call.Attempts != held || srv.hits.Load() != int64(held) || call.Error != nil {
		t.Errorf("run = %s, hits %d; want completed on attempt %d", toJSON(r), srv.hits.Load(), held)
	}
	if body := toJSON(call.Output.(map[string]any)["body"]); body != fmt.Sprintf(`{"hit":%d}`, held) {
		t.Errorf("body = %s", body)
	}
}

// TestWaitingRunsAndCancellation: a run with a node waiting for a person is listed and
// shown as waiting; cancelling it cancels its subgraph run too.
func TestWaitingRunsAndCancellation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	child := mustGraph(t, childSlow)
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Tasks: storeTasks{db}, Versions: memVersions{"slow@1": child}})
	g := mustGraph(t, `{"nodes": [{"id": "ask", "kind": "approval", "config": {"title": "Go on?", "assignee": "user:cy"}},
		{"id": "sub", "kind": "subgraph", "config": {"graph": "slow", "version": 1}}], "edges": []}`)
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "asking", Version: 1, Definition: g, StartedBy: "cy"})
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, cl.eng, id, "waiting with the child started", func(r *Run) bool {
		return r.Status == RunWaiting && r.Nodes["sub"].Status == NodeRunning
	})
	if r.Nodes["ask"].Status != NodeWaiting || r.StartedBy != "cy" {
		t.Errorf("run = %s", toJSON(r))
	}
	childID := id + ".sub"
	waitRun(t, cl.eng, childID, "the child waits", func(r *Run) bool { return r.Nodes["w"].Status == NodeRunning })

	var rows []RunSummary
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		rows, _, err = cl.eng.ListRuns(ctx, RunFilter{Status: RunWaiting})
		if err == nil && len(rows) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(rows) != 1 || rows[0].RunID != id || rows[0].Status != RunWaiting {
		t.Errorf("waiting runs = %s, %v", toJSON(rows), err)
	}
	rows, _, err = cl.eng.ListRuns(ctx, RunFilter{Status: RunRunning})
	if err != nil || len(rows) != 1 || rows[0].RunID != childID || rows[0].Graph != "slow" {
		t.Errorf("running runs = %s, %v; want only the child", toJSON(rows), err)
	}

	if err := cl.eng.CancelRun(ctx, id, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, cl.eng, id, "ended", ended)
	if r.Status != RunCancelled || r.Nodes["ask"].Status != NodeCancelled || r.Nodes["sub"].Status != NodeCancelled ||
		r.Error == nil || r.Error.Type != ErrTypeCancelled {
		t.Errorf("cancelled run = %s", toJSON(r))
	}
	c := waitRun(t, cl.eng, childID, "ended", ended)
	if c.Status != RunCancelled || c.Nodes["w"].Status != NodeCancelled {
		t.Errorf("child run = %s", toJSON(c))
	}
}

// TestEnsureSearchAttributes: a data dir whose namespace lacks TrellisStatus (an older
// build) gets it, and runs start again.
func TestEnsureSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	dir := t.TempDir()
	saved := SearchAttributes
	SearchAttributes = map[string]enumspb.IndexedValueType{}
	for k, v := range saved {
		if k != SAStatus {
			SearchAttributes[k] = v
		}
	}
	srv, err := StartServer(ServerConfig{DataDir: dir, Token: testFrontendToken, Logger: quietLogger()})
	SearchAttributes = saved
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	cl := startCluster(t, dir, Deps{}) // calls EnsureSearchAttributes
	g := mustGraph(t, `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}], "edges": []}`)
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "g", Version: 1, Definition: g})
	if err != nil {
		t.Fatalf("start after adding search attributes: %v", err)
	}
	if r := waitRun(t, cl.eng, id, "ended", ended); r.Status != RunCompleted {
		t.Errorf("run = %s", toJSON(r))
	}
}
