package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"trellis/engine"
	"trellis/store"
)

func taskIDs(tb testing.TB, r *testResponse) []string {
	tb.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.Body), &rows); err != nil {
		tb.Fatalf("list is not a JSON array: %v\n%s", err, r.Body)
	}
	out := []string{}
	for _, row := range rows {
		out = append(out, row["id"].(string))
	}
	return out
}

func TestTaskAPIList(t *testing.T) {
	app, _ := newTaskApp(t, false)
	ann := app.memberAPI("ann", "finance")
	mine := app.addTask("run-1", "user:ann", time.Hour)
	group := app.addTask("run-2", "group:finance", 0)
	app.addTask("run-3", "group:ops", 0)
	done := app.addTask("run-4", "user:ann", 0)
	if err := app.DB.CloseTask(t.Context(), "run-4", "review", store.TaskDecision{Outcome: "approve", DecidedBy: "ann"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{group.ID, mine.ID}},
		{"?state=open", []string{group.ID, mine.ID}},
		{"?state=open&mine=true", []string{mine.ID}},
		{"?mine=1", []string{mine.ID}},
		{"?state=done", []string{done.ID}},
		{"?state=done&mine=true", []string{done.ID}},
		{"?graph=other", []string{}},
		{"?overdue=true", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := ann.get("/tasks" + tt.query)
			wantStatus(t, r, http.StatusOK)
			if got := taskIDs(t, r); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	r := ann.get("/tasks?state=open&mine=true")
	var rows []map[string]any
	_ = json.Unmarshal([]byte(r.Body), &rows)
	for _, k := range []string{"id", "run_id", "node", "title", "assignee", "state", "due_at", "created_at"} {
		if _, ok := rows[0][k]; !ok {
			t.Errorf("row lacks %s: %v", k, rows[0])
		}
	}
	if rows[0]["node"] != "review" || rows[0]["assignee"] != "user:ann" || rows[0]["state"] != "open" || rows[0]["overdue"] != false {
		t.Errorf("row = %v", rows[0])
	}
	app.Clock.Advance(2 * time.Hour)
	if got := taskIDs(t, ann.get("/tasks?overdue=true")); !slices.Equal(got, []string{mine.ID}) {
		t.Errorf("overdue = %v", got)
	}
	for _, bad := range []string{"?state=closed", "?mine=maybe", "?limit=0", "?limit=201", "?limit=x", "?overdue=2"} {
		wantAPIError(t, ann.get("/tasks"+bad), http.StatusBadRequest, "bad_request")
	}
	wantAPIError(t, ann.get("/tasks?after=nonsense"), http.StatusUnprocessableEntity, "invalid")
	// Users without the reviewer role get 403; anonymous callers 401.
	analyst := app.api("ana", store.RoleAnalyst)
	wantAPIError(t, analyst.get("/tasks"), http.StatusForbidden, "forbidden")
	wantAPIError(t, app.client().get("/api/v1/tasks"), http.StatusUnauthorized, "unauthorized")
}

func TestTaskAPIListPages(t *testing.T) {
	app, _ := newTaskApp(t, false)
	ann := app.memberAPI("ann")
	var want []string
	for i := range 7 {
		want = append([]string{app.addTask("run-"+string(rune('a'+i)), "user:ann", 0).ID}, want...)
	}
	var got []string
	path := "/tasks?limit=3&mine=true"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		r := ann.get(path)
		wantStatus(t, r, http.StatusOK)
		got = append(got, taskIDs(t, r)...)
		path = ""
		if link := r.Header.Get("Link"); link != "" {
			next := strings.TrimSuffix(strings.TrimPrefix(link, "</api/v1"), `>; rel="next"`)
			if r.Header.Get("X-Next-Cursor") == "" || !strings.Contains(next, "after=") || !strings.Contains(next, "mine=true") {
				t.Fatalf("Link = %q, X-Next-Cursor = %q", link, r.Header.Get("X-Next-Cursor"))
			}
			path = next
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}
}

func TestTaskAPIShow(t *testing.T) {
	app, _ := newTaskApp(t, false)
	ann := app.memberAPI("ann", "finance")
	eve := app.memberAPI("eve", "ops")
	admin := app.api("root", store.RoleAdmin)
	task := app.addTask("run-1", "group:finance", time.Hour)

	r := ann.get("/tasks/" + task.ID)
	wantStatus(t, r, http.StatusOK)
	var got struct {
		ID               string          `json:"id"`
		Instructions     string          `json:"instructions"`
		InstructionsHTML string          `json:"instructions_html"`
		Form             json.RawMessage `json:"form"`
		Outcomes         []string        `json:"outcomes"`
		Context          map[string]any  `json:"context"`
		Decision         any             `json:"decision"`
		History          []map[string]any
		Assignee         string `json:"assignee"`
	}
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != task.ID || !strings.Contains(got.Instructions, "**amount**") ||
		!strings.Contains(got.InstructionsHTML, "<strong>amount</strong>") || !strings.Contains(string(got.Form), `"enum"`) ||
		!slices.Equal(got.Outcomes, []string{"approve", "reject"}) || got.Context["input"] == nil || got.Decision != nil ||
		len(got.History) != 1 || got.Assignee != "group:finance" {
		t.Errorf("task = %s", r.Body)
	}
	wantStatus(t, admin.get("/tasks/"+task.ID), http.StatusOK)
	// Another group's task is answered as a missing one, word for word (issue 18: the 403
	// named the group).
	other := eve.get("/tasks/" + task.ID)
	wantAPIError(t, other, http.StatusNotFound, "not_found")
	missing := eve.get("/tasks/999")
	wantAPIError(t, missing, http.StatusNotFound, "not_found")
	if strings.Contains(other.Body, "finance") ||
		strings.ReplaceAll(other.Body, `\"`+task.ID+`\"`, `\"999\"`) != missing.Body {
		t.Errorf("another group's task and a missing one differ:\n%s\n%s", other.Body, missing.Body)
	}
	wantAPIError(t, ann.get("/tasks/999"), http.StatusNotFound, "not_found")
	wantAPIError(t, ann.get("/tasks/abc"), http.StatusNotFound, "not_found")
}

func TestTaskAPIDecision(t *testing.T) {
	app, dec := newTaskApp(t, false)
	ann := app.memberAPI("ann", "finance")
	bob := app.memberAPI("bob", "finance")
	eve := app.memberAPI("eve", "ops")
	task := app.addTask("run-1", "group:finance", time.Hour)
	path := "/tasks/" + task.ID + "/decision"
	good := map[string]any{"outcome": "approve", "data": map[string]any{"amount": 80, "urgent": true}, "comment": "fine"}

	wantAPIError(t, eve.send(http.MethodPost, path, good), http.StatusNotFound, "not_found")

	invalid := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"unknown outcome", map[string]any{"outcome": "maybe", "data": map[string]any{"amount": 1}}, []string{"outcome"}},
		{"no outcome", map[string]any{"data": map[string]any{"amount": 1}}, []string{"outcome"}},
		{"missing required field", map[string]any{"outcome": "approve"}, []string{"data.amount"}},
		{"wrong type", map[string]any{"outcome": "approve", "data": map[string]any{"amount": "lots"}}, []string{"data.amount"}},
		{"not in enum", map[string]any{"outcome": "reject", "data": map[string]any{"amount": 1, "category": "gift"}}, []string{"data.category"}},
		{"below minimum", map[string]any{"outcome": "reject", "data": map[string]any{"amount": 1, "items": 0}}, []string{"data.items"}},
		{"comment too long", map[string]any{"outcome": "approve", "data": map[string]any{"amount": 1}, "comment": strings.Repeat("x", 4001)}, []string{"comment"}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			r := ann.send(http.MethodPost, path, tt.body)
			wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
			if got := problemFields(t, r); !slices.Equal(got, tt.fields) {
				t.Errorf("problem fields = %v, want %v", got, tt.fields)
			}
		})
	}
	wantAPIError(t, ann.send(http.MethodPost, path, `{"outcome": `), http.StatusBadRequest, "bad_request")
	if n := len(dec.decisions()); n != 0 {
		t.Fatalf("%d refused decisions reached the engine", n)
	}

	r := ann.send(http.MethodPost, path, good)
	wantStatus(t, r, http.StatusOK)
	var out struct {
		State    string              `json:"state"`
		Decision *store.TaskDecision `json:"decision"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatal(err)
	}
	if out.State != "done" || out.Decision == nil || out.Decision.Outcome != "approve" || out.Decision.DecidedBy != "ann" ||
		out.Decision.Comment != "fine" || string(out.Decision.Data) != `{"amount":80,"category":"refund","urgent":true}` {
		t.Errorf("decided task = %s", r.Body)
	}
	calls := dec.decisions()
	if len(calls) != 1 || calls[0].By != "ann" || !slices.Equal(calls[0].Groups, []string{"finance"}) || calls[0].Data["category"] != "refund" {
		t.Errorf("engine got %+v", calls)
	}

	r = bob.send(http.MethodPost, path, good)
	wantAPIError(t, r, http.StatusConflict, "conflict")
	if !strings.Contains(r.Body, "decided by ann") {
		t.Errorf("409 does not say who decided: %s", r.Body)
	}
	if n := len(dec.decisions()); n != 1 {
		t.Errorf("the second decision reached the engine")
	}
}

func TestTaskAPIDecisionClaims(t *testing.T) {
	app, _ := newTaskApp(t, false)
	ann := app.memberAPI("ann", "finance")
	bob := app.memberAPI("bob", "finance")
	task := app.addTask("run-1", "group:finance", 0)
	wantStatus(t, ann.send(http.MethodPost, "/tasks/"+task.ID+"/claim", nil), http.StatusOK)
	r := bob.send(http.MethodPost, "/tasks/"+task.ID+"/claim", nil)
	wantAPIError(t, r, http.StatusConflict, "conflict")
	r = bob.send(http.MethodPost, "/tasks/"+task.ID+"/decision", map[string]any{"outcome": "reject", "data": map[string]any{"amount": 0}})
	wantAPIError(t, r, http.StatusForbidden, "forbidden")
	if !strings.Contains(r.Body, "claimed by ann") {
		t.Errorf("403 does not name the claimer: %s", r.Body)
	}
	wantAPIError(t, bob.send(http.MethodPost, "/tasks/"+task.ID+"/unclaim", nil), http.StatusForbidden, "forbidden")
	wantStatus(t, ann.send(http.MethodPost, "/tasks/"+task.ID+"/unclaim", nil), http.StatusOK)
	wantStatus(t, bob.send(http.MethodPost, "/tasks/"+task.ID+"/decision", map[string]any{"outcome": "reject", "data": map[string]any{"amount": 0}}), http.StatusOK)
}

// TestTaskAPIDecisionRefusedByRun: what the run refuses maps to the statuses of api.md.
func TestTaskAPIDecisionRefusedByRun(t *testing.T) {
	tests := []struct {
		name    string
		refusal *engine.DecisionError
		status  int
		code    string
	}{
		{"decided meanwhile", &engine.DecisionError{Reason: engine.DecisionDecided, Message: "Task review was already decided by bob", DecidedBy: "bob"}, http.StatusConflict, "conflict"},
		{"not the assignee", &engine.DecisionError{Reason: engine.DecisionForbidden, Message: "You (ann) are not in group finance"}, http.StatusForbidden, "forbidden"},
		{"invalid", &engine.DecisionError{Reason: engine.DecisionInvalid, Message: "The data does not fit",
			Problems: []TaskProblem{{Field: "data.amount", Path: "/amount", Message: "amount is required"}}}, http.StatusUnprocessableEntity, "invalid"},
		{"run ended", &engine.DecisionError{Reason: engine.DecisionNotWaiting, Message: "The run is not waiting for this task"}, http.StatusConflict, "conflict"},
		{"run gone", &engine.DecisionError{Reason: engine.DecisionNoRun, Message: "Run run-1 was not found"}, http.StatusNotFound, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, dec := newTaskApp(t, false)
			ann := app.memberAPI("ann", "finance")
			task := app.addTask("run-1", "group:finance", 0)
			dec.refuse = tt.refusal
			r := ann.send(http.MethodPost, "/tasks/"+task.ID+"/decision", map[string]any{"outcome": "approve", "data": map[string]any{"amount": 1}})
			wantAPIError(t, r, tt.status, tt.code)
			if !strings.Contains(r.Body, `"message":"`+tt.refusal.Message+`."`) {
				t.Errorf("body %s does not carry %q", r.Body, tt.refusal.Message)
			}
			if tt.status == http.StatusUnprocessableEntity && !slices.Equal(problemFields(t, r), []string{"data.amount"}) {
				t.Errorf("problems = %s", r.Body)
			}
		})
	}
}

func TestTaskAPIDecisionWithoutEngine(t *testing.T) {
	app, _ := newTaskApp(t, true)
	ann := app.memberAPI("ann")
	task := app.addTask("run-1", "user:ann", 0)
	r := ann.send(http.MethodPost, "/tasks/"+task.ID+"/decision", map[string]any{"outcome": "approve", "data": map[string]any{"amount": 1}})
	wantAPIError(t, r, http.StatusServiceUnavailable, "unavailable")
}
