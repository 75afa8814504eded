package web

import (
	"encoding/json"
	"html"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/static"
	"trellis/store"
)

// nodeForm posts a node to the node-form endpoint of graph id as client c.
func nodeForm(t *testing.T, c *testClient, id string, node any, ids ...string) *testResponse {
	t.Helper()
	if ids == nil {
		ids = []string{}
	}
	return c.sendJSON(http.MethodPost, "/graphs/"+id+"/edit/node-form",
		map[string]any{"node": node, "node_ids": ids}, CSRFHeader, c.csrfToken())
}

func rawNode(t *testing.T, doc string) json.RawMessage {
	t.Helper()
	if !json.Valid([]byte(doc)) {
		t.Fatalf("test node is not JSON: %s", doc)
	}
	return json.RawMessage(doc)
}

// TestEditorNodeFormFields: the form has a control for every field the catalogue lists for
// the kind, and the common fields that apply to it.
func TestEditorNodeFormFields(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Fields", "")
	for _, k := range designer.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			r := nodeForm(t, c, id, map[string]any{"id": "step", "kind": k.Name})
			wantStatus(t, r, http.StatusOK)
			for _, f := range k.Fields {
				if k.Name == designer.KindMap && (f.Type == designer.FieldInlineNode || slices.Contains(mapGraphFields, f.Name)) {
					continue // the body's own form: TestEditorMapBodyForm
				}
				if !strings.Contains(r.Body, `data-path="config.`+f.Name+`"`) {
					t.Errorf("no control for config.%s", f.Name)
				}
				if !strings.Contains(r.Body, html.EscapeString(f.Help)) {
					t.Errorf("no help text for config.%s", f.Name)
				}
			}
			for _, want := range []string{`data-path="id"`, `data-path="label"`, `data-path="join"`, `data-testid="node-form"`, `data-node-id="step"`} {
				if !strings.Contains(r.Body, want) {
					t.Errorf("form lacks %s", want)
				}
			}
			for _, f := range []string{"retry.max_attempts", "retry.initial_interval", "retry.backoff", "retry.max_interval", "timeout"} {
				if got := strings.Contains(r.Body, `data-path="`+f+`"`); got != k.DoesWork {
					t.Errorf("%s shown = %v, want %v (only kinds that do work retry)", f, got, k.DoesWork)
				}
			}
			hasError := false
			for _, p := range k.Ports {
				hasError = hasError || p == designer.PortError
			}
			if got := strings.Contains(r.Body, `data-path="on_error"`); got != hasError {
				t.Errorf("on_error shown = %v, want %v", got, hasError)
			}
			if strings.Contains(r.Body, "<script") || strings.Contains(r.Body, " style=") {
				t.Error("the form has a script or an inline style, which CSP blocks")
			}
		})
	}
}

// TestEditorNodeFormControls: each field type gets its control, filled with the node's value.
func TestEditorNodeFormControls(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Controls", "")
	tests := []struct {
		name string
		node string
		want []string
	}{
		{
			name: "llm",
			node: `{"id":"ask","kind":"llm","label":"Ask <it>","config":{"prompt":"Hi {{ input.name }}","temperature":0.2,"max_tokens":300,
				"json_schema":{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"number"}}}},"retry":{"max_attempts":5},"timeout":"45s"}`,
			want: []string{
				`value="Ask &lt;it&gt;"`,
				`data-path="config.prompt" data-type="template" rows="2" spellcheck="false" placeholder="" aria-describedby="nf-config-prompt-hint nf-config-prompt-error" data-testid="input-config.prompt">Hi {{ input.name }}</textarea>`,
				`type="number" id="nf-config-temperature" data-path="config.temperature" data-type="number" step="any" value="0.2"`,
				`data-type="integer" step="1" value="300"`,
				// The schema keeps the key order the user wrote.
				`&#34;z&#34;: {`,
				`data-path="retry.max_attempts" data-type="integer" step="1" value="5"`,
				`value="45s" placeholder="60s" pattern=`,
				`<details class="panel-details" data-testid="common-fields" open>`,
				`placeholder="default"`, // the provider's default shows as a placeholder
			},
		},
		{
			name: "http",
			node: `{"id":"call","kind":"http","config":{"method":"POST","url":"https://x.test/{{ input.id }}","headers":{"X-B":"2","A":"{{ secrets.KEY }}"},"expect":["2xx",404]}}`,
			want: []string{
				`<option value="POST" selected>POST</option>`,
				`data-control="map"`,
				`data-part="key" value="X-B"`,
				`data-part="value" value="{{ secrets.KEY }}"`,
				`value="2xx, 404"`,
				`<template data-row-template>`,
			},
		},
		{
			name: "approval with default outcomes",
			node: `{"id":"review","kind":"approval","config":{"title":"T","assignee":"group:x","due":"24h","on_due":{"outcome":"reject"}}}`,
			want: []string{
				`data-control="list"`,
				`data-part="item" value="approve"`,
				`data-part="item" value="reject"`,
				`data-path="config.on_due.outcome" data-type="string" value="reject"`,
				`data-path="config.due" data-type="duration" value="24h"`,
			},
		},
		{
			name: "subgraph version number",
			node: `{"id":"child","kind":"subgraph","config":{"graph":"other","version":3}}`,
			want: []string{`data-path="config.version" data-type="version" value="3"`, `placeholder="latest"`},
		},
		{
			name: "retry on a transform shows, to be taken away",
			node: `{"id":"t","kind":"transform","config":{"value":1},"retry":{"max_attempts":2}}`,
			want: []string{`data-path="retry.max_attempts" data-type="integer" step="1" value="2"`, `data-path="retry.backoff"`},
		},
		{
			name: "wrong type shows as JSON",
			node: `{"id":"ask","kind":"llm","config":{"prompt":"p","temperature":"hot"}}`,
			// A string where a number belongs is text the user typed: shown as typed, kept.
			want: []string{`data-path="config.temperature" data-type="json"`, `data-keep-text="true">hot</textarea>`, "shown as JSON"},
		},
		{
			name: "schema text that is not JSON yet shows as typed",
			node: `{"id":"ask","kind":"llm","config":{"prompt":"p","json_schema":"{\"type\": "}}`,
			want: []string{`data-path="config.json_schema" data-type="schema"`, `data-keep-text="true">{&#34;type&#34;: </textarea>`},
		},
		{
			name: "unknown kind",
			node: `{"id":"odd","kind":"teleport","config":{"x":1}}`,
			want: []string{"Unknown kind", `data-path="config" data-type="json"`, "Unknown kind &#34;teleport&#34;"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := nodeForm(t, c, id, rawNode(t, tt.node))
			wantStatus(t, r, http.StatusOK)
			for _, w := range tt.want {
				if !strings.Contains(r.Body, w) {
					t.Errorf("form lacks %s\n%s", w, r.Body)
				}
			}
		})
	}
}

// TestEditorNodeFormValueModes: a transform's value is edited as an expression (a JSON string
// in the draft, shown as its text) or as fixed JSON (shown indented), with a visible switch;
// an empty value starts as an expression, as the hint suggests.
func TestEditorNodeFormValueModes(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Modes", "")
	tests := []struct {
		name, node, mode, text string
	}{
		{name: "empty", node: `{"id":"t","kind":"transform"}`, mode: "expression", text: ""},
		{name: "expression", node: `{"id":"t","kind":"transform","config":{"value":"{ total: input.amount * 2 }"}}`, mode: "expression", text: "{ total: input.amount * 2 }"},
		{name: "expression with quotes", node: `{"id":"t","kind":"transform","config":{"value":"\"Dear \" + input.name"}}`, mode: "expression", text: `&#34;Dear &#34; + input.name`},
		{name: "fixed object", node: `{"id":"t","kind":"transform","config":{"value":{"total":"{{ input.amount }}"}}}`, mode: "json", text: "{\n  &#34;total&#34;: &#34;{{ input.amount }}&#34;\n}"},
		{name: "fixed number", node: `{"id":"t","kind":"transform","config":{"value":42}}`, mode: "json", text: "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := nodeForm(t, c, id, rawNode(t, tt.node))
			wantStatus(t, r, http.StatusOK)
			want := []string{
				`data-path="config.value" data-type="value" data-mode="` + tt.mode + `" data-keep-text="true"`,
				`data-testid="input-config.value">` + tt.text + `</textarea>`,
				`value="` + tt.mode + `" data-mode-for="config.value" checked`,
				`data-testid="mode-config.value-expression"`, `data-testid="mode-config.value-json"`,
				`data-testid="value-preview-run"`,
			}
			for _, w := range want {
				if !strings.Contains(r.Body, w) {
					t.Errorf("form lacks %s\n%s", w, r.Body)
				}
			}
			if got := formErrors(r.Body)["config.value"]; tt.text != "" && got != "" {
				t.Errorf("error %q for a valid value", got)
			}
		})
	}
}

var errorText = regexp.MustCompile(`data-testid="error-([^"]+)"(?: data-column="(\d+)")?>([^<]*)</p>`)

// formErrors returns the inline errors of a form by field, and the column when given.
func formErrors(body string) map[string]string {
	out := map[string]string{}
	for _, m := range errorText.FindAllStringSubmatch(body, -1) {
		if m[3] != "" {
			out[m[1]] = html.UnescapeString(m[3])
		}
	}
	return out
}

// TestEditorNodeFormErrors: the node's problems appear beside their fields, with the column
// of an expression error; the others are listed above the form.
func TestEditorNodeFormErrors(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	id := createGraphIn(t, app, "Errors", "")
	tests := []struct {
		name      string
		node      string
		ids       []string
		want      map[string]string // field → part of its error
		wantNoErr bool
		wantLoose string // a problem listed above the form
	}{
		{name: "missing required", node: `{"id":"t","kind":"transform"}`, want: map[string]string{"config.value": "Value is required"}},
		{name: "expression with column", node: `{"id":"t","kind":"transform","config":{"value":"input.amount *"}}`, want: map[string]string{"config.value": "Column "}},
		{name: "unknown node", node: `{"id":"t","kind":"transform","config":{"value":"nodes.other.output"}}`, want: map[string]string{"config.value": `Unknown node "other"`}},
		{name: "other node known", node: `{"id":"t","kind":"transform","config":{"value":"nodes.other.output"}}`, ids: []string{"other"}, wantNoErr: true},
		{name: "bad id", node: `{"id":"Bad Id","kind":"wait","config":{"duration":"5m"}}`, want: map[string]string{"id": "Id"}},
		{name: "bad duration", node: `{"id":"w","kind":"wait","config":{"duration":"soon"}}`, want: map[string]string{"config.duration": "not a duration"}},
		{name: "header", node: `{"id":"h","kind":"http","config":{"url":"https://x.test","headers":{"bad header":"x"}}}`, want: map[string]string{"config.headers": "not a valid header name"}},
		{name: "retry on a transform", node: `{"id":"t","kind":"transform","config":{"value":1},"retry":{"max_attempts":2}}`, wantLoose: "Retry applies only"},
		{name: "unknown config field", node: `{"id":"t","kind":"transform","config":{"value":1,"colour":"red"}}`, wantLoose: "Unknown field &#34;colour&#34;"},
		{name: "valid", node: `{"id":"t","kind":"transform","config":{"value":"{ a: 1 }"}}`, wantNoErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := nodeForm(t, c, id, rawNode(t, tt.node), tt.ids...)
			wantStatus(t, r, http.StatusOK)
			got := formErrors(r.Body)
			if tt.wantNoErr && len(got) > 0 {
				t.Fatalf("errors %v, want none", got)
			}
			for field, part := range tt.want {
				if !strings.Contains(got[field], part) {
					t.Errorf("error of %s = %q, want it to contain %q (all: %v)", field, got[field], part, got)
				}
				if !strings.Contains(r.Body, `data-path="`+field+`" data-type`) || strings.Contains(r.Body, `data-path="`+field+`" data-type="string_map"`) {
					continue // key/value rows have no single control to mark
				}
				if !regexp.MustCompile(`data-path="` + regexp.QuoteMeta(field) + `"[^>]*aria-invalid`).MatchString(r.Body) {
					t.Errorf("%s is not marked aria-invalid", field)
				}
			}
			if tt.wantLoose != "" {
				i := strings.Index(r.Body, `data-testid="node-problems"`)
				if i < 0 || !strings.Contains(r.Body[i:], tt.wantLoose) || strings.Contains(r.Body[i:i+120], "hidden") {
					t.Errorf("no listed problem %q\n%s", tt.wantLoose, r.Body)
				}
			}
		})
	}
	t.Run("column attribute", func(t *testing.T) {
		r := nodeForm(t, c, id, rawNode(t, `{"id":"t","kind":"transform","config":{"value":"input.amount *"}}`))
		m := errorText.FindStringSubmatch(r.Body)
		if m == nil || m[2] == "" {
			t.Fatalf("no data-column on the expression error\n%s", r.Body)
		}
	})
}

// TestEditorNodeFormRequests: who may ask, and what a bad request gets.
func TestEditorNodeFormRequests(t *testing.T) {
	app := newEditorApp(t)
	id := createGraphIn(t, app, "Access", "")
	node := map[string]any{"id": "t", "kind": "transform"}
	analyst := app.signedIn("ada", store.RoleAnalyst)

	t.Run("roles", func(t *testing.T) {
		for _, tt := range []struct {
			role string
			want int
		}{
			{store.RoleAnalyst, http.StatusOK},
			{store.RoleAdmin, http.StatusOK},
			{store.RoleReviewer, http.StatusForbidden},
			{store.RoleDeveloper, http.StatusForbidden},
		} {
			c := app.signedIn("u-"+tt.role, tt.role)
			if r := nodeForm(t, c, id, node); r.StatusCode != tt.want {
				t.Errorf("%s: status %d, want %d", tt.role, r.StatusCode, tt.want)
			}
			if r := c.get("/graphs/" + id + "/edit"); r.StatusCode != tt.want {
				t.Errorf("%s: editor page status %d, want %d", tt.role, r.StatusCode, tt.want)
			}
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		anon := app.client()
		r := nodeForm(t, anon, id, node)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Fatalf("status %d to %q, want a redirect to sign in", r.StatusCode, r.Header.Get("Location"))
		}
	})
	t.Run("no CSRF token", func(t *testing.T) {
		r := analyst.sendJSON(http.MethodPost, "/graphs/"+id+"/edit/node-form", map[string]any{"node": node})
		wantStatus(t, r, http.StatusForbidden)
	})
	t.Run("unknown graph", func(t *testing.T) {
		wantStatus(t, nodeForm(t, analyst, "nope", node), http.StatusNotFound)
		wantStatus(t, analyst.get("/graphs/nope/edit"), http.StatusNotFound)
	})
	t.Run("node not an object", func(t *testing.T) {
		wantStatus(t, nodeForm(t, analyst, id, []int{1}), http.StatusBadRequest)
	})
	t.Run("not JSON", func(t *testing.T) {
		req := analyst.request(http.MethodPost, "/graphs/"+id+"/edit/node-form", strings.NewReader("node=1"), CSRFHeader, analyst.csrfToken())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, analyst.do(req), http.StatusUnsupportedMediaType)
	})
}

// TestEditorPage: the page carries the draft, its revision and problems, and the catalogue
// for the palette, and nothing that CSP would block.
func TestEditorPage(t *testing.T) {
	app := newEditorApp(t)
	c := app.signedIn("ada", store.RoleAnalyst)
	doc := `{"format":"trellis.graph/v1","name":"Page","input":{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"number"}}},
		"nodes":[{"id":"t","kind":"transform","config":{"value":"input.a *"}}],"edges":[],"output":"nodes.t.output"}`
	id := createGraphIn(t, app, "Page <b>", doc)
	r := c.get("/graphs/" + id + "/edit")
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`data-testid="editor"`, `<script id="editor-data" type="application/json">`, `type="module" src="/static/`,
		`data-testid="palette-transform"`, `data-testid="palette-approval"`, `data-testid="canvas"`, `role="application"`,
		`aria-labelledby="panel-title"`, `data-testid="publish-dialog"`, `Page &lt;b&gt;`,
		`data-graph-path="output"`, `nodes.t.output</textarea>`, `&#34;b&#34;: {`, // input schema keeps its order
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script>", " style=", "onclick="} {
		if strings.Contains(r.Body, bad) {
			t.Errorf("page has %q, which CSP blocks", bad)
		}
	}
	start := strings.Index(r.Body, `<script id="editor-data" type="application/json">`)
	end := strings.Index(r.Body[start:], "</script>")
	var data struct {
		GraphID  string             `json:"graph_id"`
		Revision int64              `json:"revision"`
		Draft    designer.Graph     `json:"draft"`
		Problems []designer.Problem `json:"problems"`
		Kinds    []editorKind       `json:"kinds"`
		URLs     editorURLs         `json:"urls"`
	}
	payload := r.Body[start+len(`<script id="editor-data" type="application/json">`) : start+end]
	if err := json.Unmarshal([]byte(payload), &data); err != nil {
		t.Fatalf("data block: %v\n%s", err, payload)
	}
	if data.GraphID != id || data.Revision != 1 || len(data.Draft.Nodes) != 1 || len(data.Kinds) != len(designer.Kinds()) {
		t.Fatalf("data block = %+v", data)
	}
	if len(data.Problems) != 1 || data.Problems[0].Node != "t" || data.Problems[0].Column == 0 {
		t.Fatalf("problems = %+v, want the expression error of t", data.Problems)
	}
	if data.URLs.Draft != "/api/v1/graphs/"+id+"/draft" || data.URLs.NodeForm != "/graphs/"+id+"/edit/node-form" || !strings.Contains(data.URLs.Dagre, "dagre") {
		t.Fatalf("urls = %+v", data.URLs)
	}
	for _, k := range data.Kinds {
		if k.Name == designer.KindApproval && len(k.Ports) != 0 {
			t.Errorf("approval ports = %v, want none (they are its outcomes)", k.Ports)
		}
	}
	// The assets the page and its script load are embedded.
	for _, name := range []string{"css/editor.css", "js/editor/main.js", "js/editor/editor.js", editorDagreFile} {
		if _, err := fs.Stat(static.FS, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(r.Body, static.URL(name)) && name != "js/editor/editor.js" {
			t.Errorf("page does not name %s", static.URL(name))
		}
	}
}
