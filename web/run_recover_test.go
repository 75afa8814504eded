package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"trellis/designer"
	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// The test engine without runs refuses recovery actions as a run it does not know.
func (engineWithoutRuns) ActOnIncident(_ context.Context, id string, _ engine.IncidentRequest) (engine.NodeState, error) {
	return engine.NodeState{}, &engine.RecoveryError{Reason: engine.RecoveryNoRun, Message: "Run " + id + " was not found"}
}

func (engineWithoutRuns) PauseRun(_ context.Context, id, _, _ string) error {
	return &engine.RecoveryError{Reason: engine.RecoveryNoRun, Message: "Run " + id + " was not found"}
}

func (engineWithoutRuns) ResumeRun(_ context.Context, id, _, _ string) error {
	return &engine.RecoveryError{Reason: engine.RecoveryNoRun, Message: "Run " + id + " was not found"}
}

// downService answers 503 until up is set, then {"n": N}.
type downService struct {
	*httptest.Server
	up   atomic.Bool
	hits atomic.Int64
}

func newDownService(t testing.TB) *downService {
	d := &downService{}
	d.Server = testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := d.hits.Add(1)
		if !d.up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"n": %d}`, n)
	}))
	t.Cleanup(d.Close)
	return d
}

// holdDoc: call is held when its service is down; side runs beside it.
const holdDoc = `{"format": "trellis.graph/v1", "name": "Hold", "on_error": "hold",
  "nodes": [{"id": "call", "kind": "http", "label": "Call", "config": {"url": "$URL/x"},
             "retry": {"max_attempts": 1}},
            {"id": "after", "kind": "transform", "label": "After", "config": {"value": "nodes.call.output.body"}},
            {"id": "side", "kind": "transform", "label": "Side", "config": {"value": "'side'"}}],
  "edges": [{"from": "call", "to": "after"}]}`

func runIsHeld(r *engine.Run) bool { return r.Status == engine.RunHeld }

// TestRunRecoverAPI: the incident actions and pause/resume through the JSON API, with their
// roles, refusals (409 naming the status, 400 naming the output field) and the held filter.
func TestRunRecoverAPI(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	dev := app.api("dev", store.RoleDeveloper)
	svc := newDownService(t)
	g := ana.createGraph("Hold", strings.ReplaceAll(holdDoc, "$URL", svc.URL))
	ana.publish(g, "first")

	id := ana.startRun(g, map[string]any{})
	r := rc.waitRun(t, id, "held", runIsHeld)
	if r.Nodes["side"].Status != engine.NodeCompleted || r.Nodes["call"].Status != engine.NodeHeld {
		t.Fatalf("held run = %+v", r)
	}
	base := "/runs/" + id + "/nodes/"
	wantAPIError(t, ana.send(http.MethodPost, base+"call/retry", nil), http.StatusForbidden, "forbidden")
	resp := dev.send(http.MethodPost, base+"side/retry", nil)
	wantAPIError(t, resp, http.StatusConflict, "conflict")
	if !strings.Contains(resp.Body, "Node side is completed, not held") {
		t.Errorf("409 body = %s", resp.Body)
	}
	resp = dev.send(http.MethodPost, base+"call/skip", map[string]any{"comment": "no output"})
	wantAPIError(t, resp, http.StatusBadRequest, "bad_request")
	if !strings.Contains(resp.Body, `"field":"output"`) {
		t.Errorf("400 body = %s, want the output field named", resp.Body)
	}
	wantAPIError(t, dev.send(http.MethodPost, base+"call/skip", `{"output": {"body": nope}}`), http.StatusBadRequest, "bad_request")
	wantAPIError(t, dev.send(http.MethodPost, base+"nope/retry", nil), http.StatusNotFound, "not_found")
	wantAPIError(t, dev.send(http.MethodPost, base+"call/skip", map[string]any{"output": 1, "port": "nope"}),
		http.StatusUnprocessableEntity, "invalid")
	rows := runRowsOf(t, dev.waitListed("status=held", 1))
	if len(rows) != 1 || rows[0].RunID != id || rows[0].Status != engine.RunHeld {
		t.Errorf("?status=held = %+v", rows)
	}
	// The navigation's count, for developers only.
	app.user("devpage", store.RoleDeveloper)
	page := app.client()
	page.login("devpage", testPassword)
	if r := page.get("/runs/held-count"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `data-count="1"`) {
		t.Errorf("held count = %d %s", r.StatusCode, r.Body)
	}

	// Two retries at once: one is taken, the other finds the node no longer held.
	svc.up.Store(true)
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for k := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[k] = dev.send(http.MethodPost, base+"call/retry", map[string]any{"comment": "service is back"}).StatusCode
		}()
	}
	wg.Wait()
	if !(codes[0] == http.StatusAccepted && codes[1] == http.StatusConflict || codes[1] == http.StatusAccepted && codes[0] == http.StatusConflict) {
		t.Fatalf("two retries answered %v, want one 202 and one 409", codes)
	}
	r = rc.waitRun(t, id, "ended", runEnded)
	if r.Status != engine.RunCompleted || r.Nodes["call"].Actions[0].By != "dev" || r.Nodes["call"].Actions[0].Comment != "service is back" {
		t.Fatalf("retried run = %+v", r)
	}
	resp = dev.send(http.MethodPost, base+"call/retry", nil)
	wantAPIError(t, resp, http.StatusConflict, "conflict")
	if !strings.Contains(resp.Body, "has ended (completed)") {
		t.Errorf("409 on an ended run = %s", resp.Body)
	}

	// Skip: the downstream node sees the output typed in.
	svc.up.Store(false)
	id2 := ana.startRun(g, map[string]any{})
	rc.waitRun(t, id2, "held", runIsHeld)
	resp = dev.send(http.MethodPost, "/runs/"+id2+"/nodes/call/skip", map[string]any{"output": map[string]any{"body": map[string]any{"typed": true}}})
	wantStatus(t, resp, http.StatusAccepted)
	if v := resp.JSON(t); v["status"] != engine.NodeCompleted {
		t.Errorf("skip answered %s", resp.Body)
	}
	r = rc.waitRun(t, id2, "ended", runEnded)
	if r.Status != engine.RunCompleted || fmt.Sprint(r.Nodes["after"].Output) != "map[typed:true]" {
		t.Fatalf("skipped run = %+v", r)
	}

	// Fail: the run fails.
	id3 := ana.startRun(g, map[string]any{})
	rc.waitRun(t, id3, "held", runIsHeld)
	wantStatus(t, dev.send(http.MethodPost, "/runs/"+id3+"/nodes/call/fail", map[string]any{"comment": "no"}), http.StatusAccepted)
	if r = rc.waitRun(t, id3, "ended", runEnded); r.Status != engine.RunFailed {
		t.Fatalf("failed run = %+v", r)
	}
	wantAPIError(t, dev.send(http.MethodPost, "/runs/"+id3+"/pause", nil), http.StatusConflict, "conflict")
}

func (engineWithoutRuns) PreviewRewind(_ context.Context, id, _ string, _ *designer.Graph, _ int) (*engine.RewindPlan, error) {
	return nil, fmt.Errorf("run %s: %w", id, engine.ErrRunNotFound)
}

func (engineWithoutRuns) Rewind(_ context.Context, req engine.RewindRequest) (string, *engine.RewindPlan, error) {
	return "", nil, fmt.Errorf("run %s: %w", req.RunID, engine.ErrRunNotFound)
}

// TestRunRewindAPI: preview and rewind through the JSON API; the carried-over service is not
// called again, a corrected output reaches the node that runs, and bad rewinds are refused.
func TestRunRewindAPI(t *testing.T) {
	app, rc := newRunApp(t)
	ana := app.api("ana", store.RoleAnalyst)
	rev := app.api("rita", store.RoleReviewer)
	svc := newDownService(t)
	svc.up.Store(true)
	g := ana.createGraph("Hold", strings.ReplaceAll(holdDoc, "$URL", svc.URL))
	ana.publish(g, "first")
	old := ana.startRun(g, map[string]any{})
	if r := rc.waitRun(t, old, "ended", runEnded); r.Status != engine.RunCompleted {
		t.Fatalf("first run = %+v", r)
	}
	hits := svc.hits.Load()

	wantAPIError(t, rev.get("/runs/"+old+"/rewind?from=after"), http.StatusForbidden, "forbidden")
	resp := ana.get("/runs/" + old + "/rewind?from=after&version=same")
	wantStatus(t, resp, http.StatusOK)
	if !strings.Contains(resp.Body, `"reused":["call","side"]`) || !strings.Contains(resp.Body, `"rerun":["after"]`) {
		t.Fatalf("preview = %s", resp.Body)
	}
	resp = ana.get("/runs/" + old + "/rewind?from=nope&version=latest")
	wantAPIError(t, resp, http.StatusUnprocessableEntity, "invalid")
	if !strings.Contains(resp.Body, "Node nope is not in version 1") {
		t.Errorf("422 = %s", resp.Body)
	}
	wantAPIError(t, ana.send(http.MethodPost, "/runs/"+old+"/rewind", map[string]any{"from": "after", "outputs": map[string]any{"after": 1}}),
		http.StatusUnprocessableEntity, "invalid")
	wantAPIError(t, ana.send(http.MethodPost, "/runs/"+old+"/rewind", map[string]any{"from": "after", "version": "sometime"}),
		http.StatusBadRequest, "bad_request")

	resp = ana.send(http.MethodPost, "/runs/"+old+"/rewind", map[string]any{"from": "after", "version": 1,
		"outputs": map[string]any{"call": map[string]any{"status": 200, "body": map[string]any{"fixed": true}}}})
	wantStatus(t, resp, http.StatusCreated)
	id, _ := resp.JSON(t)["run_id"].(string)
	r := rc.waitRun(t, id, "ended", runEnded)
	if r.Status != engine.RunCompleted || fmt.Sprint(r.Nodes["after"].Output) != "map[fixed:true]" || r.Nodes["call"].ReusedFrom != old ||
		r.RewoundFrom == nil || r.RewoundFrom.RunID != old {
		t.Fatalf("rewound run = %+v", r)
	}
	if svc.hits.Load() != hits {
		t.Errorf("the service was called again: %d requests, was %d", svc.hits.Load(), hits)
	}
	resp = ana.get("/runs/" + id)
	if !strings.Contains(resp.Body, `"rewound_from":{"run_id":"`+old+`","node":"after"}`) || !strings.Contains(resp.Body, `"reused_from":"`+old+`"`) {
		t.Errorf("GET the rewound run = %s", resp.Body)
	}
}

func (engineWithoutRuns) CountHeldRuns(context.Context) (int, error) { return 0, nil }
