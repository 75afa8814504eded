package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"trellis/store"
)

// TestTaskPageMapItem: the task of a map item says which item it is for, of how many, and
// links the tasks of the other items; an ordinary task has none of it.
func TestTaskPageMapItem(t *testing.T) {
	app, _ := newTaskApp(t, false)
	c := app.memberClient("ann", "finance")
	var ids []string
	for _, node := range []string{"triage.0", "triage.1", "triage.2"} {
		in := store.NewTask{RunID: "run-m", NodeID: node, GraphID: "refund", Version: 2, Title: "Check " + node,
			Assignee: "group:finance", Outcomes: []string{"approve", "reject"}}
		task, _, err := app.DB.CreateTask(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID)
	}
	r := c.get("/tasks/" + ids[1])
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "item task", r.Body, `data-testid="task-item-number">item 2 of 3</span>`,
		`href="/tasks/`+ids[0]+`"`, `data-testid="task-item-1"`, `data-testid="task-item-3"`,
		`aria-current="page" class="badge badge-neutral" data-testid="task-item-current">2<`)
	plain := app.addTask("run-p", "group:finance", 0)
	if body := c.get("/tasks/" + plain.ID).Body; strings.Contains(body, `data-testid="task-item"`) {
		t.Error("an ordinary task shows an item row")
	}
}
