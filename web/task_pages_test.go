package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"trellis/store"
)

// taskWants fails unless body holds every piece.
func taskWants(tb testing.TB, what, body string, pieces ...string) {
	tb.Helper()
	for _, p := range pieces {
		if !strings.Contains(body, p) {
			tb.Errorf("%s lacks %q", what, p)
		}
	}
}

func taskLacks(tb testing.TB, what, body string, pieces ...string) {
	tb.Helper()
	for _, p := range pieces {
		if strings.Contains(body, p) {
			tb.Errorf("%s holds %q", what, p)
		}
	}
}

func TestRenderInstructionsIsSafe(t *testing.T) {
	tests := []struct {
		name, md  string
		want      []string
		forbidden []string
	}{
		{"markdown", "# Check\n\nThe **amount** and _date_.\n\n- one\n- two", []string{"<h1>Check</h1>", "<strong>amount</strong>", "<em>date</em>", "<li>one</li>"}, nil},
		{"raw html is dropped", "Hi <script>alert(1)</script> <b onclick=\"x()\">there</b>", []string{"Hi", "there"}, []string{"<script", "onclick", "<b"}},
		{"javascript link", "[click](javascript:alert(1))", []string{"click"}, []string{"javascript:", "href"}},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", nil, []string{"data:", "href"}},
		{"https link opens safely", "[policy](https://example.com/p?a=1)", []string{`href="https://example.com/p?a=1"`, `rel="nofollow noreferrer noopener"`, `target="_blank"`}, nil},
		{"autolink", "see https://example.com", []string{`href="https://example.com"`}, nil},
		{"image is dropped", "![x](https://tracker.example/p.gif)", nil, []string{"<img", "tracker"}},
		{"html block", "<div style=\"position:fixed\">cover</div>", nil, []string{"<div", "style"}},
		{"code keeps its language", "```go\nx := 1\n```", []string{`<code class="language-go">`}, nil},
		{"table", "| a | b |\n|---|--:|\n| 1 | 2 |", []string{"<table>", "<td>1</td>", `align="right"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderInstructions(tt.md)
			taskWants(t, "html", got, tt.want...)
			taskLacks(t, "html", got, tt.forbidden...)
		})
	}
}

func TestInboxPage(t *testing.T) {
	app, _ := newTaskApp(t, false)
	c := app.memberClient("ann", "finance")
	mine := app.addTask("run-1", "user:ann", 2*time.Hour)
	late := app.addTask("run-2", "user:ann", 30*time.Minute)
	group := app.addTask("run-3", "group:finance", 0)
	app.addTask("run-4", "group:ops", 0)
	app.Clock.Advance(time.Hour) // run-2 is now overdue, run-1 not yet

	// The inbox opens on everything ann can act on: hers and her groups'.
	r := c.get("/inbox")
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "open tab", r.Body, `data-testid="inbox-tab-open" aria-current="page"`, `data-testid="inbox-count-open">3<`,
		`inbox-row-`+mine.ID, `inbox-row-`+late.ID, `inbox-row-`+group.ID, `href="/inbox?tab=mine"`)
	taskLacks(t, "open tab", r.Body, "group ops")

	r = c.get("/inbox?tab=mine")
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "mine tab", r.Body,
		`data-testid="inbox-tab-mine" aria-current="page"`,
		`data-testid="inbox-count-mine">2<`, `data-testid="inbox-count-groups">1<`,
		`data-testid="inbox-row-`+mine.ID+`"`, `href="/tasks/`+mine.ID+`"`, "Refund for run-1",
		`class="task-overdue"`, `data-testid="overdue"`, `<input id="inbox-graph" type="text" name="graph"`)
	taskLacks(t, "mine tab", r.Body, `inbox-row-`+group.ID)
	if rows := regexp.MustCompile(`class="task-overdue"`).FindAllString(r.Body, -1); len(rows) != 1 {
		t.Errorf("%d overdue rows, want 1 (task %s)", len(rows), late.ID)
	}

	r = c.get("/inbox?tab=groups")
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "groups tab", r.Body, `inbox-row-`+group.ID, "group finance")
	taskLacks(t, "groups tab", r.Body, `inbox-row-`+mine.ID, "group ops")

	r = c.get("/inbox?tab=mine&overdue=1")
	taskWants(t, "overdue filter", r.Body, `inbox-row-`+late.ID)
	taskLacks(t, "overdue filter", r.Body, `inbox-row-`+mine.ID)
	if _, err := app.DB.CreateGraph(t.Context(), "Refund", nil, "ana"); err != nil {
		t.Fatal(err)
	}
	r = c.get("/inbox?graph=invoices")
	taskWants(t, "graph select", r.Body, `<option value="">All graphs</option>`, `<option value="refund">Refund</option>`,
		`<option value="invoices" selected>invoices</option>`)
	taskWants(t, "graph filter", r.Body, `data-testid="inbox-empty"`, "No tasks match")

	wantStatus(t, c.get("/inbox?tab=everything"), http.StatusNotFound)
	wantStatus(t, c.get("/inbox?after=garbage"), http.StatusUnprocessableEntity)

	// Done shows decisions.
	if err := app.DB.CloseTask(t.Context(), "run-1", "review", store.TaskDecision{Outcome: "approve", DecidedBy: "ann", DecidedAt: app.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	r = c.get("/inbox?tab=done")
	taskWants(t, "done tab", r.Body, `inbox-row-`+mine.ID, `data-testid="inbox-outcome" data-outcome="approve">Approve<`, "by ann")
	// Rows name their graph, not its id.
	taskWants(t, "graph names", r.Body, `<span title="refund">Refund</span>`)

	// Only reviewers have an inbox.
	analyst := app.signedIn("ana", store.RoleAnalyst)
	wantStatus(t, analyst.get("/inbox"), http.StatusForbidden)
}

func TestInboxPages(t *testing.T) {
	app, _ := newTaskApp(t, false)
	c := app.memberClient("ann")
	for i := range 55 {
		app.addTask(fmt.Sprintf("run-%02d", i), "user:ann", 0)
	}
	r := c.get("/inbox")
	if n := strings.Count(r.Body, `data-testid="inbox-task-link"`); n != store.DefaultTaskPageSize {
		t.Fatalf("first page has %d rows", n)
	}
	next := regexp.MustCompile(`href="(/inbox\?after=[^"]+)" data-testid="inbox-next"`).FindStringSubmatch(r.Body)
	if next == nil {
		t.Fatalf("no next link:\n%s", r.Body)
	}
	taskLacks(t, "first page", r.Body, `data-testid="inbox-first"`)
	r = c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	wantStatus(t, r, http.StatusOK)
	if n := strings.Count(r.Body, `data-testid="inbox-task-link"`); n != 5 {
		t.Errorf("second page has %d rows, want 5", n)
	}
	taskWants(t, "second page", r.Body, `data-testid="inbox-first"`, "Refund for run-00")
	taskLacks(t, "second page", r.Body, `data-testid="inbox-next"`)
}

func TestInboxNavCount(t *testing.T) {
	app, _ := newTaskApp(t, false)
	c := app.memberClient("ann", "finance")
	page := c.get("/")
	taskWants(t, "layout", page.Body, `data-testid="nav-inbox"`, `hx-get="/inbox/counts"`, `hx-trigger="load, sse:changed"`)
	r := c.get("/inbox/counts", "HX-Request", "true")
	wantStatus(t, r, http.StatusOK)
	taskLacks(t, "empty count", r.Body, "data-count")
	app.addTask("run-1", "user:ann", 0)
	app.addTask("run-2", "group:finance", 0)
	app.addTask("run-3", "group:ops", 0)
	r = c.get("/inbox/counts", "HX-Request", "true")
	taskWants(t, "count", r.Body, `data-count="2"`, `hx-trigger="sse:changed"`, "2 open tasks")
	taskLacks(t, "count", r.Body, "<html")
	// Without a task store the count still answers, empty, so pages never log errors.
	bare := newTestApp(t)
	bc := bare.signedIn("rev", store.RoleReviewer)
	wantStatus(t, bc.get("/inbox/counts", "HX-Request", "true"), http.StatusOK)
}

func TestTaskPage(t *testing.T) {
	app, _ := newTaskApp(t, false)
	c := app.memberClient("ann", "finance")
	task := app.addTask("run-1", "group:finance", 2*time.Hour)
	r := c.get("/tasks/" + task.ID)
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "task page", r.Body,
		`data-testid="task-title">Refund for run-1<`,
		"<strong>amount</strong>", `href="https://example.com/policy"`, `rel="nofollow noreferrer noopener"`,
		`data-testid="task-context-input"`, "&#34;customer&#34;: &#34;Ada&#34;", `data-testid="task-context-classify"`,
		// Controls by type: enum as select (default chosen), boolean as checkbox, numbers as number inputs.
		`<select id="task-field-category" name="data.category"`, `<option value="&#34;refund&#34;" selected>refund</option>`,
		`type="checkbox" name="data.urgent"`, `type="number" name="data.amount"`, `step="any"`,
		`name="data.items"`, `step="1"`, `<textarea id="task-field-reason" name="data.reason"`,
		`<span class="required" aria-hidden="true">*</span>`, "In euros.",
		`name="outcome" value="approve" class="btn btn-primary"`, `name="outcome" value="reject" class="btn btn-danger"`,
		`name="comment"`, `data-testid="task-claim"`, "Created for group finance")
	taskLacks(t, "task page", r.Body, `data-testid="overdue"`, `data-testid="task-notice"`)

	// The run's page is linked for those who may open it.
	taskLacks(t, "reviewer's task page", r.Body, `data-testid="task-run-link"`)
	admin := app.signedIn("root", store.RoleAdmin)
	taskWants(t, "admin's task page", admin.get("/tasks/"+task.ID).Body, `href="/runs/run-1" data-testid="task-run-link"`)

	// An outsider cannot see it; a reviewer of another group neither.
	eve := app.memberClient("eve", "ops")
	// …and gets the page a missing task gets, not a 403 naming the group (issue 18).
	other := eve.get("/tasks/" + task.ID)
	wantStatus(t, other, http.StatusNotFound)
	taskLacks(t, "another group's task", other.Body, "finance")
	wantStatus(t, eve.get("/tasks/9999"), http.StatusNotFound)
	wantStatus(t, c.get("/tasks/9999"), http.StatusNotFound)

	// Overdue stands out.
	app.Clock.Advance(3 * time.Hour)
	r = c.get("/tasks/" + task.ID)
	taskWants(t, "overdue task", r.Body, `data-testid="overdue"`, `class="task-due-overdue"`)
}

func TestTaskPageDecision(t *testing.T) {
	app, dec := newTaskApp(t, false)
	c := app.memberClient("ann", "finance")
	task := app.addTask("run-1", "group:finance", 0)
	path := "/tasks/" + task.ID + "/decision"

	r := c.postForm(path, url.Values{"outcome": {"approve"}, "data.amount": {"lots"}, "data.items": {"0"}, "comment": {"hm"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	taskWants(t, "refused form", r.Body, `data-testid="task-form-error"`, "Enter a number", `value="lots"`, ">hm</textarea>")
	r = c.postForm(path, url.Values{"outcome": {"approve"}, "data.items": {"0"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	taskWants(t, "refused form", r.Body, "Approved amount is required", "Items must be at least 1")
	r = c.postForm(path, url.Values{"outcome": {"perhaps"}, "data.amount": {"5"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	taskWants(t, "refused form", r.Body, "Outcome must be one of approve, reject.")
	if n := len(dec.decisions()); n != 0 {
		t.Fatalf("%d refused forms reached the engine", n)
	}

	r = c.postForm(path, url.Values{"outcome": {"approve"}, "data.amount": {"80.5"}, "data.urgent": {"true"},
		"data.category": {`"goodwill"`}, "data.reason": {"Loyal customer"}, "comment": {"Fine by me"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/tasks/"+task.ID+"?m=decided" {
		t.Fatalf("Location = %q", loc)
	}
	got := dec.decisions()
	if len(got) != 1 || got[0].Outcome != "approve" || got[0].Data["amount"] != 80.5 || got[0].Data["urgent"] != true ||
		got[0].Data["category"] != "goodwill" || got[0].Comment != "Fine by me" || got[0].By != "ann" {
		t.Fatalf("engine got %+v", got)
	}
	r = c.get("/tasks/" + task.ID + "?m=decided")
	taskWants(t, "decided task", r.Body, `data-testid="task-flash"`, `data-testid="task-decision"`,
		`data-testid="task-outcome" data-outcome="approve">Approve<`, `data-testid="task-decided-by">ann<`, "Approved amount", "80.5",
		"Urgent", "yes", `data-testid="task-comment">Fine by me<`, "Decided by ann: Approve.")
	taskLacks(t, "decided task", r.Body, `data-testid="task-form"`)

	// Deciding again shows who decided.
	bob := app.memberClient("bob", "finance")
	r = bob.postForm(path, url.Values{"outcome": {"reject"}, "data.amount": {"0"}})
	wantStatus(t, r, http.StatusConflict)
	taskWants(t, "late decision", r.Body, `data-testid="task-error"`, "already decided by ann")
}

func TestTaskPageClaim(t *testing.T) {
	app, _ := newTaskApp(t, false)
	ann := app.memberClient("ann", "finance")
	bob := app.memberClient("bob", "finance")
	task := app.addTask("run-1", "group:finance", 0)
	r := ann.postForm("/tasks/"+task.ID+"/claim", nil)
	wantStatus(t, r, http.StatusSeeOther)
	r = ann.get(r.Header.Get("Location"))
	taskWants(t, "claimed", r.Body, `data-testid="task-flash"`, `data-testid="task-unclaim"`, "claimed by ann", "Claimed by ann.")
	taskLacks(t, "claimed", r.Body, `data-testid="task-claim"`)

	r = bob.get("/tasks/" + task.ID)
	taskWants(t, "claimed by another", r.Body, `data-testid="task-notice"`, "ann has claimed this task")
	taskLacks(t, "claimed by another", r.Body, `data-testid="task-form"`, `data-testid="task-claim"`, `data-testid="task-unclaim"`)
	r = bob.postForm("/tasks/"+task.ID+"/claim", nil)
	wantStatus(t, r, http.StatusConflict)
	taskWants(t, "second claim", r.Body, `data-testid="task-error"`, "claimed by ann already")
	r = bob.postForm("/tasks/"+task.ID+"/decision", url.Values{"outcome": {"reject"}, "data.amount": {"0"}})
	wantStatus(t, r, http.StatusForbidden)

	// In the inbox the claimed task moves to ann's own tab.
	taskWants(t, "ann's inbox", ann.get("/inbox").Body, `inbox-row-`+task.ID)
	taskWants(t, "bob's groups", bob.get("/inbox?tab=groups").Body, `inbox-row-`+task.ID, "claimed by ann")

	wantStatus(t, ann.postForm("/tasks/"+task.ID+"/unclaim", nil), http.StatusSeeOther)
	r = bob.get("/tasks/" + task.ID)
	taskWants(t, "given back", r.Body, `data-testid="task-form"`, `data-testid="task-claim"`, "ann gave it back to the group.")
	// Claiming needs CSRF like every form.
	wantStatus(t, bob.postFormRaw("/tasks/"+task.ID+"/claim", nil), http.StatusForbidden)
}

func TestTaskPageWithoutEngine(t *testing.T) {
	app, _ := newTaskApp(t, true)
	c := app.memberClient("ann")
	task := app.addTask("run-1", "user:ann", 0)
	r := c.get("/tasks/" + task.ID)
	taskWants(t, "no engine", r.Body, `data-testid="task-notice"`, "not connected to the workflow engine")
	taskLacks(t, "no engine", r.Body, `data-testid="task-form"`)
}
