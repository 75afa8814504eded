package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/store"
)

// importFile posts a file to the import form as c, with the other form fields given.
func importFile(c *testClient, filename, content string, fields url.Values) *testResponse {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField(CSRFField, c.csrfToken())
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", filename)
	_, _ = fw.Write([]byte(content))
	_ = mw.Close()
	req := c.request(http.MethodPost, "/graphs/import", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// TestGraphCreateNames: a name another graph has is asked about once; a name that cannot
// make an id asks for one; accented names make readable ids.
func TestGraphCreateNames(t *testing.T) {
	app := newGraphApp(t, nil)
	ana := app.signedIn("ana", store.RoleAnalyst)
	graphs := func() int {
		list, err := app.DB.ListGraphs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}

	wantStatus(t, ana.postForm("/graphs", url.Values{"name": {"Refund flow"}}), http.StatusSeeOther)

	// The same name (any case) is not created silently.
	r := ana.postForm("/graphs", url.Values{"name": {"refund FLOW "}})
	wantStatus(t, r, http.StatusConflict)
	wantContains(t, r.Body, `data-testid="graph-create-warning"`, `Another graph is already named &#34;refund FLOW&#34; (id refund-flow).`,
		`<input type="hidden" name="same_name" value="1">`, "Create anyway", `value="refund FLOW"`)
	if n := graphs(); n != 1 {
		t.Fatalf("%d graphs after the warning, want 1", n)
	}
	// Confirmed, it is created.
	r = ana.postForm("/graphs", url.Values{"name": {"refund FLOW"}, "same_name": {"1"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/graphs/refund-flow-2/edit" {
		t.Fatalf("Location = %q", loc)
	}

	// A name with nothing to make an id from asks for an id, rather than calling it "graph".
	r = ana.postForm("/graphs", url.Values{"name": {"::"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `data-testid="graph-create-id"`, `data-testid="graph-create-id-error"`, "give an id as well")
	if strings.Contains(r.Body, `data-testid="graph-create-error"`) {
		t.Error("the id's error is shown on the name")
	}
	r = ana.postForm("/graphs", url.Values{"name": {"::"}, "id": {"colons"}})
	wantStatus(t, r, http.StatusSeeOther)
	if g, err := app.DB.GetGraph(context.Background(), "colons"); err != nil || g.Name != "::" {
		t.Fatalf("graph colons = %+v, %v", g, err)
	}
	tests := []struct{ name, id, want string }{
		{"taken", "colons", "taken"},
		{"not an id", "Two Words", "lowercase letters, digits and dashes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ana.postForm("/graphs", url.Values{"name": {"Other " + tt.name}, "id": {tt.id}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantContains(t, r.Body, `data-testid="graph-create-id-error"`, tt.want, `value="`+tt.id+`"`)
		})
	}

	// Accents are spelt out, not dropped.
	r = ana.postForm("/graphs", url.Values{"name": {"Crème brûlée"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/graphs/creme-brulee/edit" {
		t.Errorf("Location = %q", loc)
	}
}

// TestGraphImportRefusesNonGraphs: a JSON object that is not a graph document is refused with
// the reason, and nothing is created.
func TestGraphImportRefusesNonGraphs(t *testing.T) {
	app := newGraphApp(t, nil)
	ana := app.signedIn("ana", store.RoleAnalyst)
	tests := []struct{ name, content, want string }{
		{"no format", `{"hello": 1}`, `This file is not a Trellis graph: it has no &#34;format&#34;: &#34;trellis.graph/v1&#34;.`},
		{"another format", `{"format": "trellis.graph/v9", "name": "x", "nodes": [], "edges": []}`, `its format is &#34;trellis.graph/v9&#34;`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := importFile(ana, "hello.json", tt.content, nil)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantContains(t, r.Body, `data-testid="graph-import-error"`, tt.want, "<details class=\"import-panel\" open")
		})
	}
	if list, _ := app.DB.ListGraphs(context.Background()); len(list) != 0 {
		t.Fatalf("refused files made graphs: %v", list)
	}

	// A graph named like another is imported, and the overview says so.
	api := app.api("api", store.RoleAnalyst)
	api.createGraph("Greeting", greetDoc)
	r := importFile(ana, "g.json", greetDoc, nil)
	wantStatus(t, r, http.StatusSeeOther)
	page := ana.get(r.Header.Get("Location"))
	wantContains(t, page.Body, `data-testid="graph-warning"`, `Another graph is already named &#34;Greeting&#34; (id greeting).`)
	if strings.Contains(ana.get("/graphs/greeting").Body, `data-testid="graph-warning"`) {
		t.Error("the warning shows outside the import's confirmation")
	}

	// A document whose name cannot make an id asks for one; given, it imports.
	doc := strings.Replace(greetDoc, `"name": "Greeting"`, `"name": "::"`, 1)
	r = importFile(ana, "x.json", doc, nil)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `data-testid="graph-import-id"`, `data-testid="graph-import-id-error"`, "give an id as well")
	r = importFile(ana, "x.json", doc, url.Values{"id": {"colons"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/graphs/colons?imported=1&show=draft" {
		t.Errorf("Location = %q", loc)
	}
}

// TestGraphPublishUnchanged: a draft equal to the latest version is not offered for
// publishing; the overview says why. Subgraphs pinned at publishing count as unchanged.
func TestGraphPublishUnchanged(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("api", store.RoleAnalyst)
	ana := app.signedIn("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)

	page := ana.get("/graphs/" + id).Body
	if strings.Contains(page, `data-testid="publish-unchanged"`) || strings.Contains(page, `aria-describedby="publish-why"`) {
		t.Fatal("an unpublished draft is said to be unchanged")
	}
	api.publish(id, "first")
	page = ana.get("/graphs/" + id).Body
	wantContains(t, page, `data-testid="publish-unchanged">No changes since version 1: the draft is identical to it.`,
		`data-testid="publish-submit" disabled aria-disabled="true" aria-describedby="publish-why"`)

	api.saveDraft(id, greetDocV2)
	page = ana.get("/graphs/" + id).Body
	if strings.Contains(page, `data-testid="publish-unchanged"`) || strings.Contains(page, `data-testid="publish-submit" disabled`) {
		t.Error("a changed draft cannot be published")
	}

	// A parent that runs the child's "latest" was published with it pinned to 1; its draft
	// still says "latest", and is unchanged all the same.
	parent := api.createGraph("Parent", `{"format": "trellis.graph/v1", "name": "Parent",
		"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "`+id+`", "version": "latest", "input": "{name: 'x'}"}}], "edges": []}`)
	api.publish(parent, "")
	wantContains(t, ana.get("/graphs/"+parent).Body, "No changes since version 1")
	wantAPIError(t, api.send(http.MethodPost, "/graphs/"+parent+"/versions", map[string]any{}), http.StatusConflict, "conflict")
}
