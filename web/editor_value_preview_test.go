package web

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"trellis/store"
)

// previewValue posts a transform's value to the preview endpoint of graph id.
func previewValue(t *testing.T, c *testClient, id string, value any) *testResponse {
	t.Helper()
	return c.sendJSON(http.MethodPost, "/graphs/"+id+"/edit/preview", map[string]any{"value": value}, CSRFHeader, c.csrfToken())
}

// TestEditorValuePreview: a transform's value is evaluated against the data of the graph's
// latest run (its input and its nodes' outputs), as an expression or as JSON with templates;
// without a run, or without an engine, the preview says so.
func TestEditorValuePreview(t *testing.T) {
	app, rc := newRunApp(t)
	api := app.api("ada", store.RoleAnalyst)
	c := app.signedIn("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Double","nodes":[{"id":"double","kind":"transform","config":{"value":"input.amount * 2"}}],"edges":[]}`
	id := api.createGraph("Double", doc)
	api.publish(id, "v1")

	r := previewValue(t, c, id, "nodes.double.output + 1")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `data-testid="value-preview-message"`) || !strings.Contains(r.Body, "no run yet") {
		t.Fatalf("preview without a run = %s", r.Body)
	}

	runID := api.startRun(id, map[string]any{"amount": 21, "customer": "C-7"})
	rc.waitRun(t, runID, "it ends", runEnded)

	tests := []struct {
		name  string
		value any
		want  []string
	}{
		{name: "expression", value: "{ total: nodes.double.output + 1, who: input.customer, run: run.id == \"" + runID + "\" }",
			want: []string{`"total": 43`, `"who": "C-7"`, `"run": true`}},
		{name: "fixed JSON with templates", value: map[string]any{"line": "Total {{ nodes.double.output }}", "n": "{{ nodes.double.output }}", "fixed": true},
			want: []string{`"line": "Total 42"`, `"n": 42`, `"fixed": true`}},
		{name: "an error of the expression", value: "input.amount.foo()", want: []string{`data-testid="value-preview-error"`}},
		{name: "empty", value: nil, want: []string{"Write a value first."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := previewValue(t, c, id, tt.value)
			wantStatus(t, r, http.StatusOK)
			body := html.UnescapeString(r.Body)
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("preview lacks %s\n%s", w, body)
				}
			}
			if tt.value != nil && !strings.Contains(body, runID) {
				t.Errorf("preview does not name run %s\n%s", runID, body)
			}
		})
	}

	// Only analysts may preview, and only with the CSRF token.
	dev := app.signedIn("dan", store.RoleDeveloper)
	wantStatus(t, previewValue(t, dev, id, "1"), http.StatusForbidden)
	wantStatus(t, c.sendJSON(http.MethodPost, "/graphs/"+id+"/edit/preview", map[string]any{"value": "1"}), http.StatusForbidden)
	wantStatus(t, previewValue(t, c, "no-such-graph", "1"), http.StatusNotFound)
}

// TestEditorValuePreviewWithoutEngine: a server without the workflow engine says so.
func TestEditorValuePreviewWithoutEngine(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "No engine", "")
	r := previewValue(t, c, id, "1 + 1")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, "need the workflow engine") {
		t.Fatalf("preview = %s", r.Body)
	}
}
