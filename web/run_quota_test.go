package web

import (
	"net/http"
	"strings"
	"testing"

	"trellis/actions"
	"trellis/store"
)

// TestRunStartQuotasOverHTTP: the run quotas of actions answer 422 (input nested too deep)
// and 429 (too many starts) through the API, never a 500.
func TestRunStartQuotasOverHTTP(t *testing.T) {
	eng := &recordingStarter{}
	app := newTestApp(t, withSetup(func(s *appSetup) {
		s.Deps.Graphs = s.Deps.Users.(*store.DB)
		s.Deps.Runs = eng
		s.Config.Quotas = actions.Quotas{RunsPerMinute: 2}
	}))
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Echo", `{"format": "trellis.graph/v1", "name": "Echo",
	  "nodes": [{"id": "t", "kind": "transform", "config": {"value": "input"}}], "edges": []}`)
	ana.publish(id, "v1")

	var deep any = 1
	for range actions.MaxInputDepth + 5 {
		deep = map[string]any{"a": deep}
	}
	r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{"deep": deep}})
	wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
	if !strings.Contains(r.Body, "nested more than 256 levels") {
		t.Errorf("422 does not say why: %s", r.Body)
	}

	wantStatus(t, ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{}}), http.StatusCreated)
	r = ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{}})
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.Body, "too many runs") {
		t.Fatalf("second start in a burst of 1: %d %s", r.StatusCode, r.Body)
	}
	if n := len(eng.requests()); n != 1 {
		t.Errorf("the engine was asked %d times, want 1", n)
	}
}
