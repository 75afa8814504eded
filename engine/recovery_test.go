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
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
