package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/store"
)

const labelledDoc = `{"format": "trellis.graph/v1", "name": "Refund",
  "input": {"type": "object", "required": ["customer_email", "refund_amount"], "properties": {
    "customer_email": {"type": "string", "format": "email", "title": "Customer e-mail", "description": "Where the reply goes."},
    "refund_amount": {"type": "number"},
    "urgent": {"type": "boolean"}}},
  "nodes": [{"id": "echo", "kind": "transform", "position": {"x": 40, "y": 40}, "config": {"value": "input"}}], "edges": []}`

// TestSchemaFormRunLabels: the start-run form labels each field with the schema's title, else
// the property in words, marks the required ones for assistive technology too, and after a
// refusal keeps what was typed with the error named by the field's aria-describedby.
func TestSchemaFormRunLabels(t *testing.T) {
	starter := &recordingStarter{}
	app := newGraphApp(t, starter)
	api := app.api("api", store.RoleAnalyst)
	id := api.createGraph("Refund", labelledDoc)
	api.publish(id, "")
	ana := app.signedIn("ana", store.RoleAnalyst)

	r := ana.get("/graphs/" + id + "/runs/new")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body,
		`<label for="input-customer_email">Customer e-mail`, `<p class="hint" id="input-customer_email-hint">Where the reply goes.</p>`,
		`type="email" name="in.customer_email"`, `<label for="input-refund_amount">Refund amount`, `<label for="input-urgent">`,
		`aria-required="true"`)
	if strings.Contains(r.Body, ">refund_amount<") || strings.Contains(r.Body, ">customer_email<") {
		t.Error("a raw property name is shown as a label")
	}

	r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {"1"}, "in.customer_email": {"ada@example.com"}, "in.refund_amount": {"ten"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `value="ada@example.com"`, `value="ten"`, `aria-describedby="input-refund_amount-error"`,
		`id="input-refund_amount-error" data-testid="input-refund_amount-error">Enter a number`)
	if n := len(starter.requests()); n != 0 {
		t.Fatalf("a refused form started %d runs", n)
	}
}
