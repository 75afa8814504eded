package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/store"
)

// refundV2Doc is refundGraphDoc with an audit after the approval and pay changed to say so.
var refundV2Doc = strings.NewReplacer(
	`{"id": "pay", "kind": "transform", "config": {"value": "'paid ' + string(nodes.review.output.data.amount)"}}`,
	`{"id": "audit", "kind": "transform", "config": {"value": "'audited'"}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid ' + string(nodes.review.output.data.amount) + ', ' + nodes.audit.output"}}`,
	`{"from": "review", "to": "pay", "port": "approve"}`,
	`{"from": "review", "to": "audit", "port": "approve"}, {"from": "audit", "to": "pay"}`,
).Replace(refundGraphDoc)

// refundNoReviewDoc makes review a transform: a run waiting at it cannot move.
const refundNoReviewDoc = `{"format": "trellis.graph/v1", "name": "Refund",
  "input": {"type": "object", "required": ["customer", "amount"],
	"properties": {"customer": {"type": "string"}, "amount": {"type": "number"}}},
  "nodes": [
	{"id": "classify", "kind": "transform", "config": {"value": "{ label: 'refund', risk: 'low' }"}},
	{"id": "review", "kind": "transform", "config": {"value": "1"}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid anyway'"}}],
  "edges": [{"from": "classify", "to": "review"}, {"from": "review", "to": "pay"}]}`

// TestRunMigrateOnEngine: a run waiting at its approval is previewed and moved from v1 to v2
// through the API and its task is decided: it finishes as v2 says; a move to v3 (review is
// no longer an approval) answers 409 with the problem, backwards and unknown 422, and the
// run page offers the move, which the form does.
func TestRunMigrateOnEngine(t *testing.T) {
	app := newEngineApp(t)
	moved, stays := app.startRefund(7), app.startRefund(8)
	task := app.waitTask(moved)
	app.waitTask(stays)
	ana := app.api("ana", store.RoleAnalyst)
	for _, doc := range []string{refundV2Doc, refundNoReviewDoc} {
		wantStatus(t, ana.send(http.MethodPut, "/graphs/refund/draft", doc), http.StatusOK)
		wantStatus(t, ana.send(http.MethodPost, "/graphs/refund/versions", map[string]any{"note": "next"}), http.StatusCreated)
	}
	dev := app.api("dev", store.RoleDeveloper)

	r := dev.get("/runs/" + moved + "/migrate?to=2")
	wantStatus(t, r, http.StatusOK)
	if v := r.JSON(t); v["compatible"] != true || v["from"] != float64(1) {
		t.Fatalf("preview v2 = %s", r.Body)
	}
	r = dev.get("/runs/" + stays + "/migrate?to=3")
	wantStatus(t, r, http.StatusOK)
	if v := r.JSON(t); v["compatible"] != false || !strings.Contains(r.Body, `"node":"review"`) {
		t.Fatalf("preview v3 = %s", r.Body)
	}
	r = dev.send(http.MethodPost, "/runs/"+stays+"/migrate", map[string]any{"to": 3})
	wantAPIError(t, r, http.StatusConflict, "conflict")
	if !strings.Contains(r.Body, `"node":"review"`) {
		t.Errorf("409 lacks the problem: %s", r.Body)
	}
	wantAPIError(t, dev.send(http.MethodPost, "/runs/"+stays+"/migrate", map[string]any{"to": 1}), http.StatusUnprocessableEntity, "invalid")
	wantAPIError(t, dev.send(http.MethodPost, "/runs/"+stays+"/migrate", map[string]any{"to": 9}), http.StatusUnprocessableEntity, "invalid")
	wantAPIError(t, dev.send(http.MethodPost, "/runs/"+stays+"/migrate", map[string]any{}), http.StatusUnprocessableEntity, "invalid")
	wantAPIError(t, dev.get("/runs/"+stays+"/migrate?to=x"), http.StatusUnprocessableEntity, "invalid")
	wantAPIError(t, app.api("bob", store.RoleReviewer).send(http.MethodPost, "/runs/"+stays+"/migrate", map[string]any{"to": 2}), http.StatusForbidden, "forbidden")

	// The page previews the latest newer version by default; the form moves the run.
	page := app.signedIn("dev", store.RoleDeveloper)
	if run := page.get("/runs/" + moved); !strings.Contains(run.Body, `href="/runs/`+moved+`/migrate"`) {
		t.Errorf("the run page does not offer the move")
	}
	p := page.get("/runs/" + moved + "/migrate?to=2")
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(p.Body, `data-testid="migrate-form"`) {
		t.Fatalf("migrate page:\n%s", p.Body)
	}
	if p := page.get("/runs/" + stays + "/migrate"); !strings.Contains(p.Body, `data-testid="migrate-problems"`) || !strings.Contains(p.Body, "node review") {
		t.Errorf("migrate page for v3:\n%s", p.Body)
	}
	sub := page.postForm("/runs/"+moved+"/migrate", url.Values{"to": {"2"}, "comment": {"audit"}})
	if sub.StatusCode != http.StatusSeeOther {
		t.Fatalf("migrate form = %d %s", sub.StatusCode, sub.Body)
	}
	if tk, err := app.DB.GetTaskByNode(context.Background(), moved, "review"); err != nil || tk.ID != task.ID || tk.Version != 2 {
		t.Errorf("task after the move = %+v, %v", tk, err)
	}
	if run := page.get("/runs/" + moved); !strings.Contains(run.Body, "moved from v1 to v2 by dev") {
		t.Errorf("the run page does not show the move")
	}

	bob := app.memberAPI("bob", "finance")
	for _, id := range []string{moved, stays} {
		tk, err := app.DB.GetTaskByNode(context.Background(), id, "review")
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, bob.send(http.MethodPost, "/tasks/"+tk.ID+"/decision", map[string]any{"outcome": "approve", "data": map[string]any{"amount": 5}}), http.StatusOK)
	}
	if run := app.waitRun(moved); run.Status != engine.RunCompleted || toJSONString(run.Output) != `{"pay":"paid 5, audited"}` {
		t.Errorf("moved run = %+v, output %s", run, toJSONString(run.Output))
	}
	if run := app.waitRun(stays); run.Status != engine.RunCompleted || toJSONString(run.Output) != `{"pay":"paid 5"}` || run.Version != 1 {
		t.Errorf("refused run = %+v, output %s", run, toJSONString(run.Output))
	}
}
