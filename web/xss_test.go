package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/enginestore"
	"trellis/store"
)

// xssPayload breaks out of text, double- and single-quoted attributes and script blocks.
const xssPayload = `</script><script>alert(1)</script><img src=x onerror=alert(2)>" autofocus onfocus="alert(3)' onmouseover='alert(4)`

// xssShort fits fields of at most 100 characters (hook names).
const xssShort = `<script>alert(1)</script><img src=x onerror=alert(2)>" autofocus onfocus="alert(3)`

var jsonScriptBlock = regexp.MustCompile(`(?s)<script[^>]*type="application/json"[^>]*>.*?</script>`)

// xssRaw are what any page shows only when a payload reached it unescaped.
var xssRaw = []string{"<script>alert(1)", "<img src=x onerror", `" autofocus onfocus="alert(3)`, `' onmouseover='alert(4)`,
	`href="javascript:`, `href='javascript:`, `href=javascript:`}

// xssGraphDoc puts the payload in every text of a graph a user writes: its description, the
// input schema's titles, node labels, and an approval whose title and instructions take the
// run's input (a Markdown link to javascript: too).
func xssGraphDoc() string {
	p, _ := json.Marshal(xssPayload)
	ps := string(p)
	return `{"format": "trellis.graph/v1", "name": "x", "description": ` + ps + `,
  "input": {"type": "object", "required": ["name"],
	"properties": {"name": {"type": "string", "title": ` + ps + `, "description": ` + ps + `}}},
  "nodes": [
	{"id": "first", "kind": "transform", "label": ` + ps + `, "config": {"value": "input.name"}},
	{"id": "review", "kind": "approval", "label": ` + ps + `, "config": {
		"title": "Review {{ input.name }}",
		"instructions": "See [the policy](javascript:alert(5)) and <b onclick=alert(6)>this</b>: {{ input.name }}",
		"assignee": "group:finance", "outcomes": ["approve", "reject"],
		"form": {"type": "object", "properties": {"note": {"type": "string", "title": ` + ps + `}}}}}],
  "edges": [{"from": "first", "to": "review"}]}`
}

// TestStoredXSSEscaped: issue 18 asks that what users type (graph names and descriptions,
// node labels, task titles and instructions, decision comments, run input, hook names,
// version notes, schedule input) is shown escaped on every page. It stores the payload
// everywhere it can go, then reads every page that shows it.
func TestStoredXSSEscaped(t *testing.T) {
	seed := seedXSS(t, func(s *xssSeed) { sweepXSS(t, s.app, s.openPages()...) })
	sweepXSS(t, seed.app, seed.pages()...)
}

// xssSeed is an app on the real engine with the payload stored in everything users type:
// a graph, its version, a hook, a schedule, a run and its task, decided with the payload.
type xssSeed struct {
	app                    *testApp
	graphID, runID, taskID string
}

// openPages show the task while it is open; pages show everything once it is decided.
func (s *xssSeed) openPages() []string { return []string{"/inbox", "/tasks/" + s.taskID} }

func (s *xssSeed) pages() []string {
	id := s.graphID
	return []string{"/graphs", "/graphs/" + id, "/graphs/" + id + "/edit", "/graphs/" + id + "/versions", "/graphs/" + id + "/versions/1",
		"/graphs/" + id + "/diff", "/graphs/" + id + "/triggers", "/graphs/" + id + "/runs/new", "/graphs/" + id + "/test-run",
		"/runs", "/runs/" + s.runID, "/inbox?state=all", "/tasks/" + s.taskID}
}

// seedXSS stores the payloads; whileOpen looks at the task before it is decided.
func seedXSS(t *testing.T, whileOpen func(*xssSeed)) *xssSeed {
	t.Helper()
	tasks := &enginestore.Tasks{}
	eng, _ := enginetest.Start(t, engine.Deps{Tasks: tasks})
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Tasks, s.Deps.Graphs, s.Deps.Runs, s.Deps.Triggers = db, db, eng, db
	}))
	tasks.DB = app.DB
	ea := &engineApp{testApp: app, eng: eng}

	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph(xssPayload, xssGraphDoc())
	ana.publish(id, xssPayload)
	r := ana.send(http.MethodPost, "/graphs/"+id+"/hooks", map[string]any{"name": xssShort, "auth": "hmac"})
	wantStatus(t, r, http.StatusCreated)
	r = ana.send(http.MethodPost, "/graphs/"+id+"/schedules", map[string]any{"every": "1h", "paused": true, "input": map[string]any{"name": xssPayload}})
	wantStatus(t, r, http.StatusCreated)
	runID := ana.startRun(id, map[string]any{"name": xssPayload})
	task := ea.waitTask(runID)
	if !strings.Contains(task.Title, "<script>") {
		t.Fatalf("the payload did not reach the task title: %q", task.Title)
	}
	seed := &xssSeed{app: app, graphID: id, runID: runID, taskID: task.ID}
	// An open task, then a decided one with the payload as its comment.
	whileOpen(seed)
	rita := app.memberAPI("rita", "finance")
	r = rita.send(http.MethodPost, "/tasks/"+task.ID+"/decision", map[string]any{"outcome": "approve", "comment": xssPayload, "data": map[string]any{"note": xssPayload}})
	wantStatus(t, r, http.StatusOK)
	ea.waitRun(runID)
	return seed
}

// sweepXSS reads each page as an admin (who sees everything) and fails on any payload shown
// unescaped; each page must show the payload escaped at least once, or the sweep proves
// nothing about it.
func sweepXSS(t *testing.T, app *testApp, pages ...string) {
	t.Helper()
	admin := app.signedIn("xss-admin", store.RoleAdmin, store.RoleReviewer)
	for _, p := range pages {
		r := admin.get(p)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: status %d, %s", p, r.StatusCode, r.Header.Get("Content-Type"))
			continue
		}
		if i := strings.Index(r.Body, "<script>alert(1)"); i >= 0 {
			t.Errorf("%s shows a script unescaped: …%s…", p, r.Body[max(0, i-120):min(len(r.Body), i+120)])
		}
		// A JSON data block (templ.JSONScript) escapes <, > and &, so a quote in it breaks
		// nothing; outside them a quote must not come through as written.
		html := jsonScriptBlock.ReplaceAllString(r.Body, "")
		for _, raw := range xssRaw {
			if i := strings.Index(html, raw); i >= 0 {
				t.Errorf("%s shows %q unescaped: …%s…", p, raw, html[max(0, i-120):min(len(html), i+120)])
			}
		}
		if !strings.Contains(r.Body, "&lt;script&gt;alert(1)") && !strings.Contains(r.Body, `\u003cscript\u003ealert(1)`) &&
			!strings.Contains(r.Body, url.QueryEscape("<script>alert(1)")) {
			t.Errorf("%s does not show the payload at all, so the sweep proves nothing there", p)
		}
	}
}
