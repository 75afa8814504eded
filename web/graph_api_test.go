package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/store"
)

func TestGraphAPICreateAndShow(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)

	// Without a name, the document's is used; the draft is the document.
	r := api.send(http.MethodPost, "/graphs", map[string]any{"definition": json.RawMessage(greetDoc)})
	wantStatus(t, r, http.StatusCreated)
	created := r.JSON(t)
	if created["id"] != "greeting" || created["name"] != "Greeting" {
		t.Fatalf("created = %v", created)
	}

	r = api.get("/graphs/greeting")
	wantStatus(t, r, http.StatusOK)
	if etag := r.Header.Get("ETag"); etag != `"1"` {
		t.Errorf("ETag = %q, want \"1\"", etag)
	}
	var show struct {
		ID       string             `json:"id"`
		Name     string             `json:"name"`
		Draft    designer.Graph     `json:"draft"`
		Problems []designer.Problem `json:"problems"`
		Revision int64              `json:"revision"`
		Versions []store.Version    `json:"versions"`
	}
	if err := json.Unmarshal([]byte(r.Body), &show); err != nil {
		t.Fatal(err)
	}
	if show.Draft.Name != "Greeting" || len(show.Draft.Nodes) != 2 || show.Problems == nil || len(show.Problems) != 0 ||
		show.Revision != 1 || show.Versions == nil || len(show.Versions) != 0 {
		t.Fatalf("graph = %+v", show)
	}

	// An empty graph by name alone; the id is unique.
	r = api.send(http.MethodPost, "/graphs", map[string]any{"name": "Greeting"})
	wantStatus(t, r, http.StatusCreated)
	if id := r.JSON(t)["id"]; id != "greeting-2" {
		t.Fatalf("second id = %v", id)
	}

	list := api.get("/graphs")
	wantStatus(t, list, http.StatusOK)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(list.Body), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("list = %s", list.Body)
	}
	for _, k := range []string{"id", "name", "latest_version", "updated_at"} {
		if _, ok := rows[0][k]; !ok {
			t.Errorf("list rows lack %s", k)
		}
	}

	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no name", map[string]any{"name": "  "}, http.StatusUnprocessableEntity, "invalid"},
		{"definition not an object", map[string]any{"name": "x", "definition": []int{1}}, http.StatusBadRequest, "bad_request"},
		{"body not JSON", "{name:", http.StatusBadRequest, "bad_request"},
		{"name not a string", map[string]any{"name": 5}, http.StatusBadRequest, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, api.send(http.MethodPost, "/graphs", tt.body), tt.status, tt.code)
		})
	}
	wantAPIError(t, api.get("/graphs/no-such-graph"), http.StatusNotFound, "not_found")
	wantAPIError(t, api.get("/graphs/Not_An_ID"), http.StatusNotFound, "not_found")
}

// TestGraphAPIDraftRevision: a stale editor tab (If-Match with an old revision) gets a 409
// instead of overwriting newer work.
func TestGraphAPIDraftRevision(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)

	put := func(ifMatch, doc string) *testResponse {
		var h []string
		if ifMatch != "" {
			h = []string{"If-Match", ifMatch}
		}
		return api.send(http.MethodPut, "/graphs/"+id+"/draft", doc, h...)
	}
	r := put(`"1"`, greetDocV2)
	wantStatus(t, r, http.StatusOK)
	if got := r.JSON(t); got["revision"] != 2.0 || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("save answer = %v, ETag %q", got, r.Header.Get("ETag"))
	}

	// Another tab still at revision 1.
	r = put(`"1"`, greetDoc)
	wantAPIError(t, r, http.StatusConflict, "conflict")
	if !strings.Contains(r.Body, "newer draft") || !strings.Contains(r.Body, "ana") {
		t.Errorf("conflict message does not explain: %s", r.Body)
	}
	if r.Header.Get("ETag") != `"2"` {
		t.Errorf("the conflict does not give the current revision: ETag %q", r.Header.Get("ETag"))
	}
	g, err := app.DB.GetGraph(context.Background(), id)
	if err != nil || string(g.Draft) != greetDocV2 {
		t.Fatalf("the stale save changed the draft: %v", err)
	}

	// The current revision, bare or weak, saves; no If-Match saves unconditionally.
	wantStatus(t, put("2", greetDoc), http.StatusOK)
	wantStatus(t, put(`W/"3"`, greetDoc), http.StatusOK)
	wantStatus(t, put("", greetDoc), http.StatusOK)
	wantAPIError(t, put("abc", greetDoc), http.StatusBadRequest, "bad_request")

	// An invalid draft is saved, with its problems in the answer.
	r = put("", badDoc)
	wantStatus(t, r, http.StatusOK)
	probs := problemsOf(t, r)
	if len(probs) < 2 || probs[0]["node"] != "a" {
		t.Fatalf("problems = %v", probs)
	}
	if g, _ := app.DB.GetGraph(context.Background(), id); string(g.Draft) != badDoc {
		t.Fatal("the invalid draft was not saved")
	}
}

func TestGraphAPIDraftRefusals(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	big := `{"format":"trellis.graph/v1","name":"big","nodes":[],"edges":[],"description":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        string
		message     string
	}{
		{"not JSON", `{"format": `, "", http.StatusBadRequest, "bad_request", "not valid JSON"},
		{"empty", ``, "", http.StatusBadRequest, "bad_request", "not a graph"},
		{"an array", `[1, 2]`, "", http.StatusBadRequest, "bad_request", "must be a JSON object"},
		{"over 2 MiB", big, "", http.StatusRequestEntityTooLarge, "too_large", ""},
		{"not JSON content type", greetDoc, "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.contentType != "" {
				h = []string{"Content-Type", tt.contentType}
			}
			r := api.send(http.MethodPut, "/graphs/"+id+"/draft", tt.body, h...)
			wantAPIError(t, r, tt.status, tt.code)
			if !strings.Contains(r.Body, tt.message) {
				t.Errorf("message lacks %q: %s", tt.message, r.Body)
			}
		})
	}
	if g, _ := app.DB.GetGraph(context.Background(), id); g.DraftRevision != 1 {
		t.Fatalf("a refused save changed the draft (revision %d)", g.DraftRevision)
	}
	wantAPIError(t, api.send(http.MethodPut, "/graphs/nope/draft", greetDoc), http.StatusNotFound, "not_found")
}

func TestGraphAPIPublish(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", badDoc)

	// Refused with the problems listed.
	r := api.send(http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "first"})
	wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
	probs := problemsOf(t, r)
	if len(probs) < 2 {
		t.Fatalf("problems = %v", probs)
	}
	var kinds, edges bool
	for _, p := range probs {
		kinds = kinds || p["node"] == "a" && strings.Contains(p["message"].(string), "teleport")
		edges = edges || p["edge"] == 0.0 && strings.Contains(p["message"].(string), "nowhere")
	}
	if !kinds || !edges {
		t.Errorf("problems do not name the unknown kind and the missing node: %v", probs)
	}

	// Publish v1, then the identical draft again.
	api.saveDraft(id, greetDoc)
	if v := api.publish(id, "first"); v != 1 {
		t.Fatalf("version = %d", v)
	}
	wantAPIError(t, api.send(http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "again"}), http.StatusConflict, "conflict")

	// A stale revision is refused; the current one publishes.
	api.saveDraft(id, greetDocV2)
	wantAPIError(t, api.send(http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "x", "revision": 2}), http.StatusConflict, "conflict")
	r = api.send(http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "second", "revision": 3})
	wantStatus(t, r, http.StatusCreated)
	if r.JSON(t)["version"] != 2.0 {
		t.Fatalf("second publish = %s", r.Body)
	}

	// Versions are immutable: v1 is still the first document.
	api.saveDraft(id, badDoc)
	v1 := api.get("/graphs/" + id + "/versions/1")
	wantStatus(t, v1, http.StatusOK)
	var g designer.Graph
	if err := json.Unmarshal([]byte(v1.Body), &g); err != nil {
		t.Fatal(err)
	}
	want, _, _ := designer.Parse([]byte(greetDoc), designer.Limits{})
	if h1, h2 := mustHash(t, &g), mustHash(t, want); h1 != h2 || len(g.Nodes) != 2 {
		t.Fatalf("version 1 changed: %s", v1.Body)
	}

	r = api.get("/graphs/" + id)
	var show struct {
		Versions []store.Version `json:"versions"`
	}
	if err := json.Unmarshal([]byte(r.Body), &show); err != nil {
		t.Fatal(err)
	}
	if len(show.Versions) != 2 || show.Versions[0].Version != 2 || show.Versions[1].Note != "first" ||
		show.Versions[1].Author != "ana" || !strings.HasPrefix(show.Versions[1].Hash, "sha256:") {
		t.Fatalf("versions = %+v", show.Versions)
	}

	// Retire; retiring twice is fine.
	for range 2 {
		r = api.send(http.MethodPost, "/graphs/"+id+"/versions/1/retire", nil)
		wantStatus(t, r, http.StatusOK)
	}
	if v, _ := app.DB.GetVersion(context.Background(), id, 1); !v.Retired {
		t.Fatal("version 1 not retired")
	}
	wantAPIError(t, api.send(http.MethodPost, "/graphs/"+id+"/versions/9/retire", nil), http.StatusNotFound, "not_found")
	wantAPIError(t, api.get("/graphs/"+id+"/versions/9"), http.StatusNotFound, "not_found")
	wantAPIError(t, api.get("/graphs/"+id+"/versions/x"), http.StatusNotFound, "not_found")
}

func mustHash(t *testing.T, g *designer.Graph) string {
	t.Helper()
	h, err := designer.Hash(g)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestGraphAPIPublishPinsSubgraphs: "latest" becomes the child's version number when the
// parent is published, and a child with nothing published is a problem.
func TestGraphAPIPublishPinsSubgraphs(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	child := api.createGraph("Child", greetDoc)
	parent := api.createGraph("Parent", `{"format": "trellis.graph/v1", "name": "Parent",
		"nodes": [{"id": "sub", "kind": "subgraph", "config": {"graph": "child", "version": "latest", "input": "{name: 'x'}"}}], "edges": []}`)

	r := api.send(http.MethodPost, "/graphs/"+parent+"/versions", map[string]any{})
	wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
	if probs := problemsOf(t, r); len(probs) != 1 || probs[0]["node"] != "sub" {
		t.Fatalf("problems = %v", probs)
	}

	api.publish(child, "")
	api.publish(parent, "")
	r = api.get("/graphs/" + parent + "/versions/1")
	var g designer.Graph
	if err := json.Unmarshal([]byte(r.Body), &g); err != nil {
		t.Fatal(err)
	}
	var cfg designer.SubgraphConfig
	if err := json.Unmarshal(g.Nodes[0].Config, &cfg); err != nil || string(cfg.Version) != "1" {
		t.Fatalf("subgraph config = %s", g.Nodes[0].Config)
	}

	// The child cannot now include the parent: the graphs would include each other.
	r = api.send(http.MethodPost, "/graphs/validate?graph="+child, `{"format": "trellis.graph/v1", "name": "Child",
		"nodes": [{"id": "back", "kind": "subgraph", "config": {"graph": "parent"}}], "edges": []}`)
	wantStatus(t, r, http.StatusOK)
	if probs := problemsOf(t, r); len(probs) != 1 || !strings.Contains(probs[0]["message"].(string), "include each other") {
		t.Fatalf("problems = %v", probs)
	}
}

func TestGraphAPIDiff(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	api.publish(id, "")
	api.saveDraft(id, greetDocV2)

	r := api.get("/graphs/" + id + "/diff?from=1&to=draft")
	wantStatus(t, r, http.StatusOK)
	var d designer.GraphDiff
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes.Added) != 1 || d.Nodes.Added[0] != "pause" || len(d.Nodes.Removed) != 0 ||
		len(d.Nodes.Changed) != 1 || d.Nodes.Changed[0].ID != "shout" || d.Nodes.Changed[0].Fields[0].Field != "config.value" ||
		len(d.Edges.Added) != 1 || d.Edges.Added[0].To != "pause" || len(d.Edges.Removed) != 0 {
		t.Fatalf("diff = %s", r.Body)
	}
	// The shape api.md names, with empty lists rather than null.
	var shape struct {
		Nodes map[string]json.RawMessage `json:"nodes"`
		Edges map[string]json.RawMessage `json:"edges"`
	}
	if err := json.Unmarshal([]byte(r.Body), &shape); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"added", "removed", "changed"} {
		if v := shape.Nodes[k]; len(v) == 0 || string(v) == "null" {
			t.Errorf("nodes.%s = %s", k, v)
		}
	}
	if string(shape.Edges["removed"]) != "[]" {
		t.Errorf("edges.removed = %s", shape.Edges["removed"])
	}

	tests := []struct {
		query  string
		status int
		code   string
	}{
		{"from=1", http.StatusBadRequest, "bad_request"},
		{"from=1&to=banana", http.StatusBadRequest, "bad_request"},
		{"from=1&to=7", http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			wantAPIError(t, api.get("/graphs/"+id+"/diff?"+tt.query), tt.status, tt.code)
		})
	}
	wantStatus(t, api.get("/graphs/"+id+"/diff?from=draft&to=draft"), http.StatusOK)
}

func TestGraphAPIValidate(t *testing.T) {
	app := newGraphApp(t, nil)
	api := app.api("dev", store.RoleDeveloper)
	tests := []struct {
		name     string
		body     string
		status   int
		problems int // -1: an error
	}{
		{"valid", greetDoc, http.StatusOK, 0},
		{"problems", badDoc, http.StatusOK, 2},
		{"wrong format", `{"format": "trellis.graph/v9", "name": "x", "nodes": [], "edges": []}`, http.StatusOK, 1},
		{"not JSON", `nope`, http.StatusBadRequest, -1},
		{"a string", `"graph"`, http.StatusBadRequest, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api.send(http.MethodPost, "/graphs/validate", tt.body)
			if tt.problems < 0 {
				wantAPIError(t, r, tt.status, "bad_request")
				return
			}
			wantStatus(t, r, tt.status)
			if !strings.Contains(r.Body, `"problems":[`) {
				t.Fatalf("problems is not a list: %s", r.Body)
			}
			if got := problemsOf(t, r); len(got) < tt.problems || (tt.problems == 0 && len(got) != 0) {
				t.Fatalf("problems = %v, want %d", got, tt.problems)
			}
		})
	}
}

// TestGraphAPIRoles: analysts write; developers only read; reviewers neither.
func TestGraphAPIRoles(t *testing.T) {
	app := newGraphApp(t, &recordingStarter{})
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Greeting", greetDoc)
	ana.publish(id, "")
	dev := app.api("dev", store.RoleDeveloper)
	rev := app.api("rita", store.RoleReviewer)

	writes := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/graphs", map[string]any{"name": "x"}},
		{http.MethodPut, "/graphs/" + id + "/draft", greetDoc},
		{http.MethodPost, "/graphs/" + id + "/versions", map[string]any{}},
		{http.MethodPost, "/graphs/" + id + "/versions/1/retire", nil},
		{http.MethodPost, "/graphs/" + id + "/runs", map[string]any{"input": map[string]any{"name": "x"}}},
	}
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			wantAPIError(t, rev.send(w.method, w.path, w.body), http.StatusForbidden, "forbidden")
			wantAPIError(t, dev.send(w.method, w.path, w.body), http.StatusForbidden, "forbidden")
		})
	}
	for _, p := range []string{"/graphs", "/graphs/" + id, "/graphs/" + id + "/versions/1", "/graphs/" + id + "/diff?from=1&to=draft"} {
		wantAPIError(t, rev.get(p), http.StatusForbidden, "forbidden")
		wantStatus(t, dev.get(p), http.StatusOK)
	}
	if v, _ := app.DB.GetVersion(context.Background(), id, 1); v.Retired {
		t.Fatal("a refused retire retired the version")
	}
}

func TestGraphAPIRunStart(t *testing.T) {
	starter := &recordingStarter{}
	app := newGraphApp(t, starter)
	api := app.api("ana", store.RoleAnalyst)
	id := api.createGraph("Greeting", greetDoc)
	start := func(body any) *testResponse { return api.send(http.MethodPost, "/graphs/"+id+"/runs", body) }

	wantAPIError(t, start(map[string]any{"input": map[string]any{"name": "Ada"}}), http.StatusConflict, "conflict")
	api.publish(id, "")
	api.saveDraft(id, greetDocV2)
	api.publish(id, "")
	wantStatus(t, api.send(http.MethodPost, "/graphs/"+id+"/versions/2/retire", nil), http.StatusOK)

	big := strings.Repeat("x", 300<<10)
	tests := []struct {
		name    string
		body    any
		status  int
		code    string
		message string
	}{
		{"retired version", map[string]any{"version": 2, "input": map[string]any{"name": "Ada"}}, http.StatusConflict, "conflict", "version 2 is retired"},
		{"unknown version", map[string]any{"version": 5, "input": map[string]any{"name": "Ada"}}, http.StatusNotFound, "not_found", ""},
		{"version zero", map[string]any{"version": 0, "input": map[string]any{}}, http.StatusBadRequest, "bad_request", ""},
		{"missing field", map[string]any{"input": map[string]any{}}, http.StatusUnprocessableEntity, "invalid", "name"},
		{"wrong type", map[string]any{"version": 1, "input": map[string]any{"name": "Ada", "times": "twice"}}, http.StatusUnprocessableEntity, "invalid", "/times"},
		{"not an object", map[string]any{"input": []int{1}}, http.StatusUnprocessableEntity, "invalid", ""},
		{"input over 256 KiB", map[string]any{"input": map[string]any{"name": big}}, http.StatusRequestEntityTooLarge, "too_large", ""},
		{"bad JSON", `{"input": `, http.StatusBadRequest, "bad_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(tt.body)
			wantAPIError(t, r, tt.status, tt.code)
			if !strings.Contains(strings.ToLower(r.Body), strings.ToLower(tt.message)) {
				t.Errorf("answer lacks %q: %s", tt.message, r.Body)
			}
		})
	}
	// Problems name the path into the input.
	r := start(map[string]any{"input": map[string]any{"name": "Ada", "times": "twice"}})
	if probs := problemsOf(t, r); len(probs) != 1 || probs[0]["path"] != "/times" {
		t.Fatalf("problems = %v", probs)
	}
	if n := len(starter.requests()); n != 0 {
		t.Fatalf("refused starts reached the engine %d times", n)
	}

	// Without a version: the latest one not retired (1), defaults filled in.
	r = start(map[string]any{"input": map[string]any{"name": "Ada"}})
	wantStatus(t, r, http.StatusCreated)
	if got := r.JSON(t); got["run_id"] != "run-test-1" || got["version"] != 1.0 {
		t.Fatalf("answer = %v", got)
	}
	reqs := starter.requests()
	if len(reqs) != 1 {
		t.Fatalf("engine got %d requests", len(reqs))
	}
	req := reqs[0]
	in, _ := req.Input.(map[string]any)
	if req.GraphID != id || req.Version != 1 || req.StartedBy != "ana" || len(req.Definition.Nodes) != 2 ||
		in["name"] != "Ada" || in["times"] != 2.0 || in["tone"] != "warm" {
		t.Fatalf("request = %+v", req)
	}
}
