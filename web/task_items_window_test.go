package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"trellis/store"
)

// TestTaskPageMapItemWindow: the task of item 25 of a map of 40 says so from the total the
// run gave (no run to ask here), and links only the ten items either side of it.
func TestTaskPageMapItemWindow(t *testing.T) {
	app, _ := newTaskApp(t, false)
	c := app.memberClient("ann", "finance")
	ids := map[int]string{}
	for i := range 40 {
		in := store.NewTask{RunID: "run-w", NodeID: fmt.Sprintf("triage.%d", i), GraphID: "refund", Version: 1,
			Title: fmt.Sprintf("Check %d", i), Assignee: "group:finance", Outcomes: []string{"approve"}, ItemTotal: 40}
		task, _, err := app.DB.CreateTask(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = task.ID
	}
	r := c.get("/tasks/" + ids[24])
	wantStatus(t, r, http.StatusOK)
	taskWants(t, "item task", r.Body, `data-testid="task-item-number">item 25 of 40</span>`,
		`data-testid="task-item-15"`, `data-testid="task-item-35"`, `href="/tasks/`+ids[14]+`"`)
	for _, n := range []int{14, 36, 1, 40} {
		if strings.Contains(r.Body, fmt.Sprintf(`data-testid="task-item-%d"`, n)) {
			t.Errorf("item 25's page links item %d, outside its window", n)
		}
	}
}
