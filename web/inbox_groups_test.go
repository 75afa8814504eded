package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/store"
)

// TestInboxGroupsItems: the open tab shows the 37 open item tasks of one map node of a run as
// one row that says how many wait and links their own list, where each item has its tick
// box; a plain task and a single item stay rows of their own; ticking the group decides every
// item once (37 decisions); a half-given group filter is a 400.
func TestInboxGroupsItems(t *testing.T) {
	app, dec := newTaskApp(t, false)
	ctx := context.Background()
	ann := app.memberClient("ann", "finance")
	var ids []string
	for i := range 37 {
		task, _, err := app.DB.CreateTask(ctx, store.NewTask{RunID: "run-g", NodeID: fmt.Sprintf("review_invoice.%d", i),
			GraphID: "refund", Version: 1, Title: fmt.Sprintf("Review invoice %d", i), Assignee: "group:finance",
			Outcomes: []string{"approve", "reject"}, ItemTotal: 37})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	single, _, err := app.DB.CreateTask(ctx, store.NewTask{RunID: "run-h", NodeID: "review_invoice.0", GraphID: "refund",
		Version: 1, Title: "Lone invoice", Assignee: "group:finance", Outcomes: []string{"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	plain := app.addTask("run-p", "group:finance", 0)

	page := ann.get("/inbox")
	wantStatus(t, page, http.StatusOK)
	head := ids[36]
	groupURL := "/inbox?" + url.Values{"run": {"run-g"}, "node": {"review_invoice"}}.Encode()
	taskWants(t, "inbox", page.Body, `data-testid="inbox-group-`+head+`" data-waiting="37"`, `review_invoice</span>: 37 items waiting`,
		`href="`+strings.ReplaceAll(groupURL, "&", "&amp;")+`"`, `aria-label="Tick all 37 items of review_invoice"`,
		`data-testid="inbox-tick-`+single.ID+`"`, `data-testid="inbox-tick-`+plain.ID+`"`)
	if n := strings.Count(page.Body, `data-testid="inbox-row-`); n != 3 {
		t.Errorf("the open tab has %d rows, want 3 (the group, the lone item, the plain task)", n)
	}
	for _, id := range ids[:36] {
		if strings.Contains(page.Body, `data-testid="inbox-row-`+id+`"`) {
			t.Fatalf("item task %s has a row of its own in the grouped tab", id)
		}
	}

	list := ann.get(groupURL)
	wantStatus(t, list, http.StatusOK)
	taskWants(t, "the group's list", list.Body, `data-testid="inbox-group-filter"`, `data-testid="inbox-tick-`+ids[0]+`"`,
		`data-testid="inbox-tick-`+ids[36]+`"`, `action="/inbox/decisions?node=review_invoice&amp;run=run-g"`)
	if strings.Contains(list.Body, `data-testid="inbox-row-`+plain.ID+`"`) {
		t.Error("the group's list shows a task of another run")
	}
	wantStatus(t, ann.get("/inbox?run=run-g"), http.StatusBadRequest)
	wantStatus(t, ann.get("/inbox?run=run-g&node=Not-A-Node"), http.StatusBadRequest)

	r := ann.postForm("/inbox/decisions?"+url.Values{"run": {"run-g"}, "node": {"review_invoice"}}.Encode(),
		url.Values{"outcome": {"approve"}, "group": {"review_invoice:run-g"}, "task_id": {ids[5]}})
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "decided", r.Body, "37 tasks decided.", `data-testid="inbox-group-filter"`)
	if n := len(dec.decisions()); n != 37 {
		t.Fatalf("%d decisions, want 37", n)
	}
	wantStatus(t, ann.postForm("/inbox/decisions", url.Values{"outcome": {"approve"}, "group": {"no colon"}}),
		http.StatusUnprocessableEntity)
}

// TestTaskAPIItems: the API lists the item tasks of one map node of a run (run and node),
// each with its item, and a task's own answer places it: index 4 of 12; a half-given filter
// is a 400.
func TestTaskAPIItems(t *testing.T) {
	app, _ := newTaskApp(t, false)
	ctx := context.Background()
	ann := app.memberAPI("ann", "finance")
	var ids []string
	for i := range 5 {
		task, _, err := app.DB.CreateTask(ctx, store.NewTask{RunID: "run-a", NodeID: fmt.Sprintf("check.%d", i), GraphID: "refund",
			Version: 1, Title: fmt.Sprintf("Check %d", i), Assignee: "group:finance", Outcomes: []string{"approve"}, ItemTotal: 12})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	plainTask := app.addTask("run-b", "group:finance", 0)
	r := ann.send(http.MethodGet, "/tasks?run=run-a&node=check", nil)
	wantStatus(t, r, http.StatusOK)
	var rows []struct {
		ID   string `json:"id"`
		Item *struct {
			Node         string
			Index, Total int
		} `json:"item"`
	}
	if err := json.Unmarshal([]byte(r.Body), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0].ID != ids[4] || rows[0].Item == nil || rows[0].Item.Index != 4 || rows[0].Item.Total != 12 {
		t.Fatalf("rows = %s", r.Body)
	}
	one := ann.send(http.MethodGet, "/tasks/"+ids[2], nil)
	wantStatus(t, one, http.StatusOK)
	taskWants(t, "task", one.Body, `"item":{"node":"check","index":2,"total":12}`)
	plain := ann.send(http.MethodGet, "/tasks/"+plainTask.ID, nil)
	if wantStatus(t, plain, http.StatusOK); strings.Contains(plain.Body, `"item"`) {
		t.Fatalf("a plain task has an item: %s", plain.Body)
	}
	wantStatus(t, ann.send(http.MethodGet, "/tasks?node=check", nil), http.StatusBadRequest)
}
