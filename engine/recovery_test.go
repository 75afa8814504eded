package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// switchServer fails every request with 503 until recover is called, then answers
// {"n": N} with the number of requests it has had.
type switchServer struct {
	*httptest.Server
	up   atomic.Bool
	hits atomic.Int64
}

func newSwitchServer(tb testing.TB) *switchServer {
	s := &switchServer{}
	s.Server = testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.hits.Add(1)
		if !s.up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"n": %d}`, n)
	}))
	tb.Cleanup(s.Close)
	return s
}

// heldGraph: call (held on error) feeds after; side and side2 do not depend on it.
const heldGraph = `{"on_error": "hold", "nodes": [
	{"id": "call", "kind": "http", "config": {"url": "$URL/x"},
	 "retry": {"max_attempts": 2, "initial_interval": "100ms", "backoff": 1}},
	{"id": "after", "kind": "transform", "config": {"value": "nodes.call.output.body"}},
	{"id": "side", "kind": "transform", "config": {"value": "'side'"}},
	{"id": "side2", "kind": "transform", "config": {"value": "nodes.side.output + '2'"}}],
  "edges": [{"from": "call", "to": "after"}, {"from": "side", "to": "side2"}]}`

func startHeld(t *testing.T, cl *testCluster, url string) string {
	t.Helper()
	g := mustGraph(t, strings.ReplaceAll(heldGraph, "$URL", url))
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "held", Version: 1, Definition: g, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func isHeld(r *Run) bool { return r.Status == RunHeld }

func refusedWith(t *testing.T, err error, reason, text string) {
	t.Helper()
	var re *RecoveryError
	if !errors.As(err, &re) || re.Reason != reason || !strings.Contains(re.Message, text) {
		t.Fatalf("err = %v, want a %s refusal saying %q", err, reason, text)
	}
}

// TestIncidents: a node under on_error hold becomes held while the independent branch
// completes; retry after the service recovers, skip with an output and fail each end the
// run as they should; a second retry of the same incident is refused.
func TestIncidents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	cl := startCluster(t, t.TempDir(), Deps{})

	t.Run("retry", func(t *testing.T) {
		srv := newSwitchServer(t)
		id := startHeld(t, cl, srv.URL)
		r := waitRun(t, cl.eng, id, "held", isHeld)
		call := r.Nodes["call"]
		if call.Status != NodeHeld || call.Attempts != 2 || call.Error == nil || r.Nodes["side2"].Status != NodeCompleted ||
			r.Nodes["after"].Status != NodePending {
			t.Fatalf("held run = %s", toJSON(r))
		}
		_, err := cl.eng.ActOnIncident(ctx, id, IncidentRequest{Node: "side", Action: ActionRetry, By: "dev"})
		refusedWith(t, err, RecoveryConflict, "Node side is completed, not held")
		_, err = cl.eng.ActOnIncident(ctx, id, IncidentRequest{Node: "nope", Action: ActionRetry, By: "dev"})
		refusedWith(t, err, RecoveryNoNode, "no node nope")
		_, err = cl.eng.ActOnIncident(ctx, id, IncidentRequest{Node: "call", Action: ActionSkip, Port: "nope", By: "dev"})
		refusedWith(t, err, RecoveryInvalid, `no port "nope"`)

		srv.up.Store(true)
		// Two operators at once: exactly one retry is taken.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for k := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[k] = cl.eng.ActOnIncident(ctx, id, IncidentRequest{Node: "call", Action: ActionRetry, By: fmt.Sprintf("dev%d", k), Comment: "fixed"})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			refusedWith(t, err, RecoveryConflict, "not held")
		}
		if ok != 1 {
			t.Fatalf("%d retries accepted, want 1: %v", ok, errs)
		}
		r = waitRun(t, cl.eng, id, "ended", ended)
		call = r.Nodes["call"]
		if r.Status != RunCompleted || call.Status != NodeCompleted || call.Attempts != 3 || call.Error != nil ||
			len(call.Actions) != 1 || call.Actions[0].Action != ActionRetry || call.Actions[0].Comment != "fixed" {
			t.Fatalf("retried run = %s", toJSON(r))
		}
		if got := toJSON(r.Nodes["after"].Output); got != `{"n":3}` {
			t.Errorf("after = %s, want the third request's answer", got)
		}
		_, err = cl.eng.ActOnIncident(ctx, id, IncidentRequest{Node: "call", Action: ActionRetry, By: "dev"})
		refusedWith(t, err, RecoveryConflict, "has ended (completed)")
	})

	t.Run("skip", func(t *testing.T) {
		srv := newSwitchServer(t)
		id := startHeld(t, cl, srv.URL)
		waitRun(t, cl.eng, id, "held", isHeld)
		ns, err := cl.eng.ActOnIncident(ctx, id, IncidentRequest{Node: "call", Action: ActionSkip, By: "dev",
			Output: map[string]any{"body": map[string]any{"typed": "in"}}, Comment: "by hand"})
		if err != nil || ns.Status != NodeCompleted {
			t.Fatalf("skip = %s, %v", toJSON(ns), err)
		}
		r := waitRun(t, cl.eng, id, "ended", ended)
		if r.Status != RunCompleted || toJSON(r.Nodes["after"].Output) != `{"typed":"in"}` ||
			r.Nodes["call"].Actions[0].Port != "out" {
			t.Fatalf("skipped run = %s", toJSON(r))
		}
	})

	t.Run("fail", func(t *testing.T) {
		srv := newSwitchServer(t)
		id := startHeld(t, cl, srv.URL)
		waitRun(t, cl.eng, id, "held", isHeld)
		if _, err := cl.eng.ActOnIncident(ctx, id, IncidentRequest{Node: "call", Action: ActionFail, By: "dev", Comment: "give up"}); err != nil {
			t.Fatal(err)
		}
		r := waitRun(t, cl.eng, id, "ended", ended)
		if r.Status != RunFailed || r.Nodes["call"].Status != NodeFailed || r.Error == nil ||
			!strings.Contains(r.Error.Message, "failed by dev: give up") {
			t.Fatalf("failed run = %s", toJSON(r))
		}
	})

	t.Run("list", func(t *testing.T) {
		srv := newSwitchServer(t)
		id := startHeld(t, cl, srv.URL)
		waitRun(t, cl.eng, id, "held", isHeld)
		found := false
		for range 300 {
			rows, _, err := cl.eng.ListRuns(ctx, RunFilter{Status: RunHeld})
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows {
				found = found || row.RunID == id && row.Status == RunHeld
			}
			if found {
				break
			}
			sleepPoll()
		}
		if !found {
			t.Fatal("status=held does not list the held run")
		}
		if err := cl.eng.CancelRun(ctx, id, "done"); err != nil {
			t.Fatal(err)
		}
		r := waitRun(t, cl.eng, id, "ended", ended)
		if r.Status != RunCancelled || r.Nodes["call"].Status != NodeCancelled {
			t.Fatalf("cancelled held run = %s", toJSON(r))
		}
	})
}

// sleepPoll is the pause between two reads of something that settles eventually (the
// visibility store behind lists); callers bound the number of reads.
func sleepPoll() { time.Sleep(200 * time.Millisecond) }

// gateServer answers {"ok": true} to each request only once open is closed.
type gateServer struct {
	*httptest.Server
	open chan struct{}
	once sync.Once
	hits atomic.Int64
}

func newGateServer(tb testing.TB) *gateServer {
	g := &gateServer{open: make(chan struct{})}
	g.Server = testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok": true}`)
	}))
	tb.Cleanup(g.Close)
	tb.Cleanup(g.let)
	return g
}

func (g *gateServer) let() { g.once.Do(func() { close(g.open) }) }

const pauseGraph = `{"nodes": [{"id": "slow", "kind": "http", "config": {"url": "$URL/slow"}},
	{"id": "next", "kind": "transform", "config": {"value": "nodes.slow.output.body.ok"}}],
  "edges": [{"from": "slow", "to": "next"}]}`

// TestPauseResume: a pause lets the node in flight finish but starts nothing after it; the
// run is paused until resumed, then completes. Pausing twice, or resuming a running run, is
// refused.
func TestPauseResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	cl := startCluster(t, t.TempDir(), Deps{})
	id := startPaused(t, cl)
	refusedWith(t, cl.eng.PauseRun(ctx, id, "dev", ""), RecoveryConflict, "already paused")
	r := waitRun(t, cl.eng, id, "paused with slow done", func(r *Run) bool { return r.Nodes["slow"].Status == NodeCompleted })
	if r.Status != RunPaused || r.Nodes["next"].Status != NodePending {
		t.Fatalf("paused run = %s", toJSON(r))
	}
	if err := cl.eng.ResumeRun(ctx, id, "dev", "go on"); err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, cl.eng, id, "ended", ended)
	if r.Status != RunCompleted || r.Nodes["next"].Output != true {
		t.Fatalf("resumed run = %s", toJSON(r))
	}
	refusedWith(t, cl.eng.ResumeRun(ctx, id, "dev", ""), RecoveryConflict, "has ended (completed)")
}

// startPaused starts pauseGraph, pauses it while slow is in flight, then lets slow answer.
func startPaused(t *testing.T, cl *testCluster) string {
	t.Helper()
	gate := newGateServer(t)
	g := mustGraph(t, strings.ReplaceAll(pauseGraph, "$URL", gate.URL))
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "pause", Version: 1, Definition: g, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, id, "slow running", func(r *Run) bool { return r.Nodes["slow"].Status == NodeRunning })
	refusedWith(t, cl.eng.ResumeRun(context.Background(), id, "dev", ""), RecoveryConflict, "not paused")
	if err := cl.eng.PauseRun(context.Background(), id, "dev", "look first"); err != nil {
		t.Fatal(err)
	}
	gate.let()
	return id
}

// TestRecordRecoveryHistories records runs with operators' actions for TestReplayHistories
// (go test ./engine/ -run TestRecordRecoveryHistories -update).
func TestRecordRecoveryHistories(t *testing.T) {
	if !*update {
		t.Skip("run with -update to record histories")
	}
	ctx := context.Background()
	cl := startCluster(t, t.TempDir(), Deps{})
	srv := newSwitchServer(t)
	retried := startHeld(t, cl, srv.URL)
	waitRun(t, cl.eng, retried, "held", isHeld)
	skipped := startHeld(t, cl, srv.URL)
	waitRun(t, cl.eng, skipped, "held", isHeld)
	if _, err := cl.eng.ActOnIncident(ctx, skipped, IncidentRequest{Node: "call", Action: ActionSkip, By: "dev",
		Output: map[string]any{"body": 1}}); err != nil {
		t.Fatal(err)
	}
	srv.up.Store(true)
	if _, err := cl.eng.ActOnIncident(ctx, retried, IncidentRequest{Node: "call", Action: ActionRetry, By: "dev", Comment: "back"}); err != nil {
		t.Fatal(err)
	}
	paused := startPaused(t, cl)
	waitRun(t, cl.eng, paused, "slow done", func(r *Run) bool { return r.Nodes["slow"].Status == NodeCompleted })
	if err := cl.eng.ResumeRun(ctx, paused, "dev", ""); err != nil {
		t.Fatal(err)
	}
	runs := map[string]string{"held_retried": retried, "held_skipped": skipped, "paused": paused}
	waitRun(t, cl.eng, retried, "ended", ended)
	// A rewind from after onto a version where side2 changed: call is carried over.
	g2 := mustGraph(t, strings.ReplaceAll(strings.ReplaceAll(heldGraph, "$URL", srv.URL), "+ '2'", "+ '3'"))
	rewound, _, err := cl.eng.Rewind(ctx, RewindRequest{RunID: retried, From: "after", Target: &g2, Version: 2, By: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	runs["rewind"] = rewound
	for _, name := range []string{"held_retried", "held_skipped", "paused", "rewind"} {
		id := runs[name]
		if r := waitRun(t, cl.eng, id, "ended", ended); r.Status != RunCompleted {
			t.Fatalf("%s: %s", name, toJSON(r))
		}
		writeHistory(t, cl.c, id, name, "no secret here")
	}
}

// TestTimelineOperatorSteps: the recorded retry is an operator step of the held node, saying
// who did what, between its failed and its successful attempts.
func TestTimelineOperatorSteps(t *testing.T) {
	tl, err := BuildTimeline(loadHistory(t, "testdata/histories/held_retried.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range tl.Entries {
		if e.Node == "call" {
			steps = append(steps, e.Step+":"+e.Status+":"+e.Name)
		}
	}
	want := "activity:failed:http activity:failed:http operator:completed:retry by dev activity:completed:http"
	if got := strings.Join(steps, " "); got != want {
		t.Errorf("call's steps = %s\nwant %s", got, want)
	}
}

// TestTimelinePauses: the recorded pause and resume are one paused time on the run's
// timeline, with who paused it and why, and who resumed it; the slow node's call, in flight
// when the run was paused, ends inside it, and the next node starts after it.
func TestTimelinePauses(t *testing.T) {
	tl, err := BuildTimeline(loadHistory(t, "testdata/histories/paused.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Pauses) != 1 {
		t.Fatalf("pauses = %s", toJSON(tl.Pauses))
	}
	p := tl.Pauses[0]
	if p.By != "dev" || p.Comment != "look first" || p.To == nil || p.ResumedBy != "dev" || !p.To.After(p.From) {
		t.Fatalf("pause = %s", toJSON(p))
	}
	for _, e := range tl.Entries {
		switch {
		case e.Node == "" || e.Step == StepOperator:
			t.Errorf("a pause or resume drawn as a node's step: %s", toJSON(e))
		case e.Node == "slow" && e.EndedAt != nil && (e.EndedAt.Before(p.From) || e.EndedAt.After(*p.To)):
			t.Errorf("slow ended at %v, outside the pause %v – %v", e.EndedAt, p.From, p.To)
		case e.Node == "next" && e.StartedAt != nil && e.StartedAt.Before(*p.To):
			t.Errorf("next started at %v, before the resume at %v", e.StartedAt, p.To)
		}
	}
	if tl.EndedAt == nil || tl.Status != RunCompleted {
		t.Errorf("run = %s %v", tl.Status, tl.EndedAt)
	}
}
