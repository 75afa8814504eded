package web

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"trellis/designer"
	"trellis/store"
)

// wantContains fails unless body holds every one of wants.
func wantContains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %s", w)
		}
	}
}

// nodeClass is the class attribute of the drawing's node id.
func nodeClass(t *testing.T, body, id string) string {
	t.Helper()
	re := regexp.MustCompile(`<g class="([^"]*)" data-node-id="` + regexp.QuoteMeta(id) + `"`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no node %s drawn", id)
	}
	return m[1]
}

func TestGraphListPage(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	api.publish(id, "")
	api.saveDraft(id, greetDocV2)
	api.createGraph("Empty one", "")
	api.publish(api.createGraph("Stable", greetDoc), "")

	ana := app.signedIn("ana")
	r := ana.get("/graphs")
	wantStatus(t, r, http.StatusOK)
	// A draft published as it was created is not "changed".
	stable := r.Body[strings.Index(r.Body, `data-testid="graph-row-stable"`):]
	if stable = stable[:strings.Index(stable, "</tr>")]; strings.Contains(stable, "draft-changed") || !strings.Contains(stable, "as published") {
		t.Errorf("stable row = %s", stable)
	}
	wantContains(t, r.Body, `data-testid="graph-row-greeting"`, `data-testid="graph-row-empty-one"`, `href="/graphs/greeting"`,
		`data-testid="draft-changed"`, "draft only", `href="/graphs/greeting/versions/1"`, `data-testid="graph-create-form"`,
		`data-testid="graph-import-form"`, `enctype="multipart/form-data"`, `href="/graphs/greeting/edit"`,
		`href="/graphs/greeting/export?version=draft"`, `aria-current="page"`)
	// Without a run counter, a published graph cannot be deleted; a draft-only one can.
	wantContains(t, r.Body, `data-testid="graph-delete-refusal-greeting"`, `data-testid="graph-delete-empty-one"`)
	if strings.Contains(r.Body, "runs-last-day") {
		t.Error("the runs column shows without an engine that counts runs")
	}

	// Developers read, without the forms.
	dev := app.signedIn("dev", store.RoleDeveloper)
	r = dev.get("/graphs")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body, `data-testid="graph-row-greeting"`)
	for _, no := range []string{"graph-create-form", "graph-import-form", "graph-rename-form-greeting", "graph-delete-empty-one"} {
		if strings.Contains(r.Body, `data-testid="`+no+`"`) {
			t.Errorf("developer sees %s", no)
		}
	}
	wantStatus(t, app.signedIn("rita", store.RoleReviewer).get("/graphs"), http.StatusForbidden)
}

func TestGraphCreateRenameDuplicateDelete(t *testing.T) {
	starter := &countingStarter{runs: map[string]int{}}
	app := newGraphApp(t, starter)
	ana := app.signedIn("ana", store.RoleAnalyst)

	r := ana.postForm("/graphs", url.Values{"name": {"Refund flow"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/graphs/refund-flow/edit" {
		t.Fatalf("Location = %q", loc)
	}
	g, err := app.DB.GetGraph(context.Background(), "refund-flow")
	if err != nil || !strings.Contains(string(g.Draft), `"format":"trellis.graph/v1"`) {
		t.Fatalf("created graph = %+v, %v", g, err)
	}

	r = ana.postForm("/graphs", url.Values{"name": {"   "}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `data-testid="graph-create-error"`, "needs a name", `aria-invalid="true"`)

	r = ana.postForm("/graphs/refund-flow/rename", url.Values{"name": {"Refunds"}})
	wantStatus(t, r, http.StatusSeeOther)
	wantContains(t, ana.get(r.Header.Get("Location")).Body, "Renamed to Refunds.")
	if g, _ := app.DB.GetGraph(context.Background(), "refund-flow"); g.Name != "Refunds" {
		t.Fatalf("name = %q", g.Name)
	}
	r = ana.postForm("/graphs/refund-flow/rename", url.Values{"name": {""}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `data-testid="graph-error"`, "Could not rename Refunds")

	r = ana.postForm("/graphs/refund-flow/duplicate", nil)
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/graphs/refunds-copy?show=draft" {
		t.Fatalf("Location = %q", loc)
	}
	cp, err := app.DB.GetGraph(context.Background(), "refunds-copy")
	if err != nil || cp.Name != "Refunds (copy)" || string(cp.Draft) != string(g.Draft) {
		t.Fatalf("copy = %+v, %v", cp, err)
	}

	// With a run counter: a graph with runs stays, one without goes.
	api := app.api("api-ana", store.RoleAnalyst)
	api.saveDraft("refund-flow", greetDoc)
	api.publish("refund-flow", "")
	starter.runs["refund-flow"] = 3
	r = ana.postForm("/graphs/refund-flow/delete", nil)
	wantStatus(t, r, http.StatusConflict)
	wantContains(t, r.Body, "it has 3 runs")
	if _, err := app.DB.GetGraph(context.Background(), "refund-flow"); err != nil {
		t.Fatal("the graph with runs was deleted")
	}
	// The last day's runs come from the store's run rollup: one a day ago does not count.
	now := app.Clock.Now()
	for i, at := range []time.Time{now.Add(-25 * time.Hour), now.Add(-time.Hour), now} {
		r := designer.RunReport{RunID: fmt.Sprintf("run-%d", i), GraphID: "refund-flow", Version: 1, Status: "running", Seq: 1, StartedAt: at}
		if err := app.DB.RecordRunReport(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	list := ana.get("/graphs").Body
	wantContains(t, list, `data-testid="runs-last-day">2</td>`)

	starter.runs["refund-flow"] = 0
	r = ana.postForm("/graphs/refund-flow/delete", nil)
	wantStatus(t, r, http.StatusSeeOther)
	if _, err := app.DB.GetGraph(context.Background(), "refund-flow"); err == nil {
		t.Fatal("not deleted")
	}
	wantContains(t, ana.get(r.Header.Get("Location")).Body, "The graph was deleted.")
}

// TestGraphDeleteRefusedForSubgraph: a graph that another graph runs as a subgraph stays.
func TestGraphDeleteRefusedForSubgraph(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	api.createGraph("Child", "")
	api.createGraph("Parent", `{"format": "trellis.graph/v1", "name": "Parent",
		"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "child"}}], "edges": []}`)
	r := app.signedIn("ana").postForm("/graphs/child/delete", nil)
	wantStatus(t, r, http.StatusConflict)
	wantContains(t, r.Body, "parent runs it as a subgraph")
}

func TestGraphImport(t *testing.T) {
	app := newGraphApp(t, nil)
	ana := app.signedIn("ana", store.RoleAnalyst)
	upload := func(filename, content, name string) *testResponse {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField(CSRFField, ana.csrfToken())
		_ = mw.WriteField("name", name)
		fw, _ := mw.CreateFormFile("file", filename)
		_, _ = fw.Write([]byte(content))
		_ = mw.Close()
		req := ana.request(http.MethodPost, "/graphs/import", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return ana.do(req)
	}

	// A document with problems is imported; the overview lists the problems.
	r := upload("broken.json", badDoc, "")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/graphs/broken?imported=1&show=draft" {
		t.Fatalf("Location = %q", loc)
	}
	g, err := app.DB.GetGraph(context.Background(), "broken")
	if err != nil || string(g.Draft) != badDoc {
		t.Fatalf("draft not kept: %v", err)
	}
	page := ana.get(r.Header.Get("Location"))
	wantStatus(t, page, http.StatusOK)
	wantContains(t, page.Body, "Imported. The draft has 2 problems", `data-testid="draft-problems"`, "node a", "teleport",
		`data-testid="publish-blocked"`)
	if c := nodeClass(t, page.Body, "a"); !strings.Contains(c, "has-problem") {
		t.Errorf("the node with a problem is not marked: %q", c)
	}

	// The form's name wins over the document's.
	r = upload("g.json", greetDoc, "Hello world")
	wantStatus(t, r, http.StatusSeeOther)
	if g, err := app.DB.GetGraph(context.Background(), "hello-world"); err != nil || g.Name != "Hello world" {
		t.Fatalf("imported = %+v, %v", g, err)
	}

	tests := []struct {
		name, content string
		status        int
		message       string
	}{
		{"not JSON", "hello", http.StatusBadRequest, "not valid JSON"},
		{"a list", "[]", http.StatusBadRequest, "must be a JSON object"},
		{"too large", `{"description": "` + strings.Repeat("x", 2<<20) + `"}`, http.StatusRequestEntityTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := upload("x.json", tt.content, "Refused")
			wantStatus(t, r, tt.status)
			if tt.status != http.StatusRequestEntityTooLarge {
				wantContains(t, r.Body, `data-testid="graph-import-error"`, tt.message)
			}
		})
	}
	if _, err := app.DB.GetGraph(context.Background(), "refused"); err == nil {
		t.Fatal("a refused file was imported")
	}
}

func TestGraphExport(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	api.publish(id, "")
	api.saveDraft(id, greetDocV2)
	dev := app.signedIn("dev", store.RoleDeveloper)

	tests := []struct {
		query, file, contains string
	}{
		{"", "greeting-draft.json", `"pause"`},
		{"?version=draft", "greeting-draft.json", `"pause"`},
		{"?version=1", "greeting-v1.json", `"shout"`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := dev.get("/graphs/" + id + "/export" + tt.query)
			wantStatus(t, r, http.StatusOK)
			if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="`+tt.file+`"` {
				t.Errorf("Content-Disposition = %q", cd)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			wantContains(t, r.Body, tt.contains, "\n  ")
		})
	}
	if strings.Contains(dev.get("/graphs/"+id+"/export?version=1").Body, "pause") {
		t.Error("version 1 export has the draft's node")
	}
	wantStatus(t, dev.get("/graphs/"+id+"/export?version=4"), http.StatusNotFound)
	wantStatus(t, dev.get("/graphs/"+id+"/export?version=x"), http.StatusBadRequest)
}

func TestGraphOverviewPublishRetireRestore(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("api", store.RoleAnalyst)
	id := api.createGraph("Greeting", badDoc)
	ana := app.signedIn("ana", store.RoleAnalyst)

	r := ana.get("/graphs/" + id)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body, `data-testid="graph-svg"`, `data-testid="versions-empty"`, `data-testid="publish-form"`, `disabled`)

	// Publishing an invalid draft is refused, with the problems listed.
	r = ana.postForm("/graphs/"+id+"/versions", url.Values{"note": {"try"}, "revision": {"1"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `data-testid="publish-error"`, `data-testid="publish-problems"`, "teleport", ">try</textarea>")

	api.saveDraft(id, greetDoc)
	r = ana.postForm("/graphs/"+id+"/versions", url.Values{"note": {"First cut"}, "revision": {"2"}})
	wantStatus(t, r, http.StatusSeeOther)
	page := ana.get(r.Header.Get("Location")).Body
	wantContains(t, page, "Published version 1.", `data-testid="version-row-1"`, "First cut", `data-testid="draft-ok"`,
		"It is the same as version 1.", `data-testid="node-greet"`, "Greets someone, loudly.")

	// Publishing the same draft again: 409, shown on the overview.
	r = ana.postForm("/graphs/"+id+"/versions", url.Values{"note": {"again"}})
	wantStatus(t, r, http.StatusConflict)
	wantContains(t, r.Body, "No changes since version 1")

	// A stale page publishes nothing.
	r = ana.postForm("/graphs/"+id+"/versions", url.Values{"note": {"old tab"}, "revision": {"1"}})
	wantStatus(t, r, http.StatusConflict)
	wantContains(t, r.Body, "changed since you opened it")

	api.saveDraft(id, greetDocV2)
	api.publish(id, "second")
	r = ana.postForm("/graphs/"+id+"/versions/2/retire", nil)
	wantStatus(t, r, http.StatusSeeOther)
	page = ana.get(r.Header.Get("Location")).Body
	wantContains(t, page, "Version 2 is retired", `data-testid="retired"`)
	if strings.Contains(page, `data-testid="version-run-2"`) {
		t.Error("a retired version offers to start a run")
	}

	// Copy version 1 back into the draft; a stale revision is refused.
	g, _ := app.DB.GetGraph(context.Background(), id)
	r = ana.postForm("/graphs/"+id+"/versions/1/restore", url.Values{"revision": {"1"}})
	wantStatus(t, r, http.StatusConflict)
	r = ana.postForm("/graphs/"+id+"/versions/1/restore", url.Values{"revision": {strconv.FormatInt(g.DraftRevision, 10)}})
	wantStatus(t, r, http.StatusSeeOther)
	wantContains(t, ana.get(r.Header.Get("Location")).Body, "The draft is now a copy of version 1.")
	v1, _ := app.DB.GetVersion(context.Background(), id, 1)
	if g, _ := app.DB.GetGraph(context.Background(), id); string(g.Draft) != string(v1.Definition) || g.DraftHash != v1.Hash {
		t.Fatal("the draft is not version 1")
	}

	// The version page: drawing, JSON, a run form (no engine: none) and the diff links.
	r = ana.get("/graphs/" + id + "/versions/1")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body, `data-testid="version-json"`, `data-testid="node-shout"`, `data-testid="diff-draft"`, "&#34;format&#34;")
	wantStatus(t, ana.get("/graphs/"+id+"/versions/7"), http.StatusNotFound)
}

func TestGraphDiffPage(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	api.publish(id, "first")
	// The draft: greet's label changes, shout goes, hello comes.
	api.saveDraft(id, `{"format": "trellis.graph/v1", "name": "Greeting",
		"nodes": [{"id": "greet", "kind": "transform", "label": "Say hello", "position": {"x": 40, "y": 40}, "config": {"value": "'Hello ' + input.name"}},
		          {"id": "hello", "kind": "wait", "config": {"duration": "5m"}}],
		"edges": [{"from": "greet", "to": "hello"}]}`)
	dev := app.signedIn("dev", store.RoleDeveloper)

	r := dev.get("/graphs/" + id + "/diff?from=1&to=draft")
	wantStatus(t, r, http.StatusOK)
	for id, want := range map[string]string{"greet": "diff-changed", "hello": "diff-added", "shout": "diff-removed"} {
		if c := nodeClass(t, r.Body, id); !strings.Contains(c, want) {
			t.Errorf("node %s class = %q, want %s", id, c, want)
		}
	}
	wantContains(t, r.Body, `class="gedge diff-added"`, `class="gedge diff-removed"`,
		`data-testid="diff-changed-greet"`, `<th scope="row" class="mono">label</th>`, ">Greet</pre>", ">Say hello</pre>",
		`data-testid="diff-added-hello"`, `data-testid="diff-removed-shout"`, `<option value="1" selected>`,
		`<option value="draft" selected>`, `hx-get="/graphs/greeting/diff"`)

	// Defaults: the latest version against the draft.
	r = dev.get("/graphs/" + id + "/diff")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body, `<option value="1" selected>`, `data-testid="diff-changed-greet"`)

	r = dev.get("/graphs/" + id + "/diff?from=1&to=1")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body, "are the same")
	wantStatus(t, dev.get("/graphs/"+id+"/diff?from=1&to=9"), http.StatusNotFound)
}

func TestGraphRunPage(t *testing.T) {
	starter := &recordingStarter{}
	app := newGraphApp(t, starter)
	api := app.api("api", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	ana := app.signedIn("ana", store.RoleAnalyst)

	r := ana.get("/graphs/" + id + "/runs/new")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.Body, `data-testid="run-unavailable"`, "no published version")

	api.publish(id, "")
	r = ana.get("/graphs/" + id + "/runs/new?version=1")
	wantStatus(t, r, http.StatusOK)
	// The fields in the schema's order, with labels, hints, required marks and defaults.
	wantContains(t, r.Body, `<label for="input-name">Your name`, `(required)`, `As it should be greeted.`,
		`type="number" name="in.times" value="2"`, `step="1"`, `<option value="&#34;warm&#34;" selected>warm</option>`,
		`type="checkbox" name="in.loud"`, `name="in.tags"`, `Write it as JSON.`, `name="input_json"`)
	order := []string{`name="in.name"`, `name="in.times"`, `name="in.tone"`, `name="in.loud"`, `name="in.tags"`}
	last := -1
	for _, o := range order {
		i := strings.Index(r.Body, o)
		if i < last {
			t.Fatalf("fields out of the schema's order at %s", o)
		}
		last = i
	}

	// Inline errors per field; nothing started.
	r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {"1"}, "in.name": {""}, "in.times": {"lots"}, "in.tags": {"[oops"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `data-testid="run-form-error"`, `data-testid="input-times-error"`, "Enter a whole number",
		`data-testid="input-tags-error"`, "valid JSON", `value="lots"`)
	r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {"1"}, "in.name": {""}, "in.times": {"3"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, `data-testid="input-name-error"`)
	r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {"1"}, "input_json": {`{"times": 1}`}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.Body, "name")
	if n := len(starter.requests()); n != 0 {
		t.Fatalf("invalid forms started %d runs", n)
	}

	// A good form starts the run and goes to its page.
	r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {"1"}, "in.name": {"Ada"}, "in.times": {"3"},
		"in.tone": {`"formal"`}, "in.loud": {"true"}, "in.tags": {`["a"]`}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/runs/run-test-1" {
		t.Fatalf("Location = %q", loc)
	}
	in := starter.requests()[0].Input.(map[string]any)
	if in["name"] != "Ada" || in["times"] != 3.0 || in["tone"] != "formal" || in["loud"] != true || len(in["tags"].([]any)) != 1 {
		t.Fatalf("input = %v", in)
	}

	// Raw JSON input works too.
	r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {"1"}, "input_json": {`{"name": "Bo"}`}})
	wantStatus(t, r, http.StatusSeeOther)

	// A retired version cannot run.
	api.send(http.MethodPost, "/graphs/"+id+"/versions/1/retire", nil)
	r = ana.postForm("/graphs/"+id+"/runs", url.Values{"version": {"1"}, "in.name": {"Ada"}})
	wantStatus(t, r, http.StatusConflict)
	wantContains(t, r.Body, "Version 1 is retired")
}
