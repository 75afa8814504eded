package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/store"
)

// The engine is what the run pages and API are made for.
var _ RunEngine = (*engine.Engine)(nil)

// runCluster is the real embedded Temporal server with a worker and an Engine on top. The
// run features are about what Temporal records, so their tests use the real thing.
type runCluster struct {
	eng *engine.Engine
}

// startRunClusterWith starts the embedded server in a temporary directory with the worker's
// dependencies (providers, secrets); it stops when the test ends.
func startRunClusterWith(tb testing.TB, deps engine.Deps) *runCluster {
	tb.Helper()
	eng, _ := enginetest.Start(tb, deps)
	return &runCluster{eng: eng}
}

// newRunApp is a test app on a real engine, with the real store for graphs.
func newRunApp(tb testing.TB) (*testApp, *runCluster) {
	tb.Helper()
	return newRunAppWith(tb, engine.Deps{})
}

// newRunAppWith is newRunApp with the worker's dependencies.
func newRunAppWith(tb testing.TB, deps engine.Deps) (*testApp, *runCluster) {
	tb.Helper()
	// As in serve, the worker hints the live pages.
	if deps.Notifier == nil {
		deps.Notifier = engine.NewNotifier()
	}
	rc := startRunClusterWith(tb, deps)
	app := newTestApp(tb, withSetup(func(s *appSetup) {
		s.Deps.Notifier = deps.Notifier
		s.Deps.Graphs = s.Deps.Users.(*store.DB)
		s.Deps.Runs = rc.eng
		// Run pages compare Temporal's times with the server's clock, so it must be real.
		s.Config.Now = time.Now
	}))
	return app, rc
}

// waitRun polls the engine until ok says so.
func (rc *runCluster) waitRun(tb testing.TB, id, what string, ok func(*engine.Run) bool) *engine.Run {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last *engine.Run
	for time.Now().Before(deadline) {
		r, err := rc.eng.GetRun(context.Background(), id)
		if err == nil {
			last = r
			if ok(r) {
				return r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("run %s: gave up waiting until %s; last %+v", id, what, last)
	return nil
}

func runEnded(r *engine.Run) bool { return r.EndedAt != nil }

// startRun starts a run through the API and returns its id.
func (a *apiClient) startRun(graphID string, input any) string {
	a.tb.Helper()
	r := a.send(http.MethodPost, "/graphs/"+graphID+"/runs", map[string]any{"input": input})
	wantStatus(a.tb, r, http.StatusCreated)
	return r.JSON(a.tb)["run_id"].(string)
}

// waitListed polls GET /api/v1/runs?query until it lists n runs (visibility lags a little).
func (a *apiClient) waitListed(query string, n int) *testResponse {
	a.tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var r *testResponse
	for time.Now().Before(deadline) {
		r = a.get("/runs?" + query)
		if r.StatusCode == http.StatusOK && len(runRowsOf(a.tb, r)) == n {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
	a.tb.Fatalf("GET /runs?%s: want %d runs, last answer %d %s", query, n, r.StatusCode, r.Body)
	return nil
}
