package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/store"
)

// TestBulkMigrateOnEngine: with serve's bulk limit at 3, a bulk move of the waiting runs of
// the refund graph to v2 moves them all; the form does the same for a ticked run; four runs
// are over the limit; a rewind without its node is refused whole.
func TestBulkMigrateOnEngine(t *testing.T) {
	tasks := &engineTasksForTest{}
	eng, _ := enginetest.Start(t, engine.Deps{Tasks: tasks})
	base := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Tasks, s.Deps.Graphs, s.Deps.Runs = db, db, eng
		s.Config.MaxBulkRuns = 3
	}))
	tasks.DB = base.DB
	app := &engineApp{testApp: base, eng: eng}
	ids := []string{app.startRefund(1), app.startRefund(2), app.startRefund(3)}
	for _, id := range ids {
		app.waitTask(id)
	}
	ana := app.api("ana", store.RoleAnalyst)
	wantStatus(t, ana.send(http.MethodPut, "/graphs/refund/draft", refundV2Doc), http.StatusOK)
	wantStatus(t, ana.send(http.MethodPost, "/graphs/refund/versions", map[string]any{"note": "audit"}), http.StatusCreated)

	dev := app.api("dev", store.RoleDeveloper)
	wantAPIError(t, dev.send(http.MethodPost, "/runs/bulk", map[string]any{"action": "migrate", "run_ids": []string{"run-a", "run-b", "run-c", "run-d"},
		"params": map[string]any{"to": 2, "graph": "refund"}}), http.StatusUnprocessableEntity, "invalid")
	wantAPIError(t, dev.send(http.MethodPost, "/runs/bulk", map[string]any{"action": "rewind", "filter": map[string]any{"graph": "refund"}}),
		http.StatusUnprocessableEntity, "invalid")

	r := dev.send(http.MethodPost, "/runs/bulk", map[string]any{"action": "migrate", "run_ids": ids[:2], "params": map[string]any{"to": 2, "graph": "refund"}})
	wantStatus(t, r, http.StatusAccepted)
	b := waitBatch(t, dev, r.JSON(t)["batch_id"].(string))
	if b.Done != 2 || b.Failed != 0 {
		t.Fatalf("bulk migrate = %+v", b)
	}
	page := app.signedIn("dev", store.RoleDeveloper)
	sub := page.postForm("/runs/bulk", url.Values{"action": {"migrate"}, "to": {"2"}, "graph": {"refund"}, "scope": {"selected"}, "run_id": {ids[2]}})
	if sub.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk form = %d %s", sub.StatusCode, sub.Body)
	}
	if b := waitBatch(t, dev, strings.TrimPrefix(sub.Header.Get("Location"), "/batches/")); b.Done != 1 {
		t.Fatalf("form batch = %+v", b)
	}
	for _, id := range ids {
		if run, err := app.eng.GetRun(t.Context(), id); err != nil || run.Version != 2 || run.Status != engine.RunWaiting {
			t.Errorf("run %s after the bulk move = %+v, %v", id, run, err)
		}
	}
}
