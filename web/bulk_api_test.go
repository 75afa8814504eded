package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"trellis/engine"
	"trellis/store"
)

// waitBatch polls GET /api/v1/batches/{id} until the batch has ended.
func waitBatch(tb testing.TB, api *apiClient, id string) engine.BatchProgress {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := api.get("/batches/" + id)
		wantStatus(tb, r, http.StatusOK)
		var b engine.BatchProgress
		if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
			tb.Fatal(err)
		}
		if b.State != engine.BatchRunning {
			return b
		}
		if time.Now().After(deadline) {
			tb.Fatalf("batch %s still running: %s", id, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBulkCancelOnEngine: on the embedded server, a bulk cancel of every waiting run of one
// graph runs as a batch workflow: each matching run is cancelled exactly once (one cancel
// request in its history), the batch reports the total, runs of another graph are left
// alone; an analyst's bulk cancel is refused whole; the runs list offers the bulk form.
func TestBulkCancelOnEngine(t *testing.T) {
	app := newEngineApp(t)
	const n = 25 // more than one chunk
	want := map[string]bool{}
	for range n {
		want[app.startRefund(5)] = true
	}
	ana := app.api("ana", store.RoleAnalyst)
	other := ana.createGraph("Other", strings.Replace(refundGraphDoc, `"name": "Refund"`, `"name": "Other"`, 1))
	ana.publish(other, "")
	r := ana.send(http.MethodPost, "/graphs/"+other+"/runs", map[string]any{"input": map[string]any{"customer": "Bo", "amount": 1}})
	wantStatus(t, r, http.StatusCreated)
	untouched := r.JSON(t)["run_id"].(string)

	dev := app.api("dev", store.RoleDeveloper)
	dev.waitListed("graph=refund&status=waiting", n)
	body := map[string]any{"action": "cancel", "filter": map[string]any{"graph": "refund", "status": "waiting"}, "params": map[string]any{"comment": "clean up"}}
	wantAPIError(t, ana.send(http.MethodPost, "/runs/bulk", body), http.StatusForbidden, "forbidden")
	wantAPIError(t, dev.send(http.MethodPost, "/runs/bulk", map[string]any{"action": "rewind", "run_ids": []string{untouched}}), http.StatusUnprocessableEntity, "invalid")

	r = dev.send(http.MethodPost, "/runs/bulk", body)
	wantStatus(t, r, http.StatusAccepted)
	started := r.JSON(t)
	if int(started["total"].(float64)) != n {
		t.Fatalf("bulk = %s, want total %d", r.Body, n)
	}
	b := waitBatch(t, dev, started["batch_id"].(string))
	if b.State != engine.BatchCompleted || b.Total != n || b.Done != n || b.Failed != 0 || len(b.Results) != n || b.By != "dev" {
		t.Fatalf("batch = %+v", b)
	}
	for _, res := range b.Results {
		if !want[res.RunID] || !res.OK {
			t.Errorf("result %+v: not one of the runs, or failed", res)
		}
		delete(want, res.RunID)
	}
	if len(want) != 0 {
		t.Fatalf("runs the batch left out: %v", want)
	}
	for _, res := range b.Results {
		run := app.waitRun(res.RunID)
		if run.Status != engine.RunCancelled {
			t.Errorf("run %s is %s", res.RunID, run.Status)
		}
		h, err := app.eng.RunHistory(context.Background(), res.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if c := strings.Count(string(h), "workflowExecutionCancelRequestedEventAttributes"); c != 1 {
			t.Errorf("run %s has %d cancel requests, want 1", res.RunID, c)
		}
	}
	if run, err := app.eng.GetRun(context.Background(), untouched); err != nil || run.Status != engine.RunWaiting {
		t.Errorf("the other graph's run = %+v, %v; want it still waiting", run, err)
	}

	// The runs list offers developers the bulk form; ticking a run acts on it alone.
	page := app.signedIn("dev", store.RoleDeveloper)
	list := page.get("/runs?graph=" + other)
	if !strings.Contains(list.Body, `data-testid="bulk-form"`) || !strings.Contains(list.Body, `data-testid="tick-`+untouched+`"`) {
		t.Fatalf("the runs list has no bulk form or tick box:\n%s", list.Body)
	}
	sub := page.postForm("/runs/bulk", url.Values{"action": {"cancel"}, "scope": {"selected"}, "run_id": {untouched}})
	if sub.StatusCode != http.StatusSeeOther {
		t.Fatalf("bulk form = %d %s", sub.StatusCode, sub.Body)
	}
	batchID := strings.TrimPrefix(sub.Header.Get("Location"), "/batches/")
	if b := waitBatch(t, dev, batchID); b.Total != 1 || b.Done != 1 {
		t.Fatalf("one-run batch = %+v", b)
	}
	shown := page.get("/batches/" + batchID)
	if !strings.Contains(shown.Body, `data-testid="batch-done">1<`) || !strings.Contains(shown.Body, `data-state="completed"`) {
		t.Fatalf("batch page:\n%s", shown.Body)
	}
	wantStatus(t, dev.get("/batches/batch-nope"), http.StatusNotFound)
}
