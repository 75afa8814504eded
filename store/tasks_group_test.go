package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestListTasksGroupItems: with GroupItems, the open tasks of one map node's items in a run
// are one row, its newest task, with how many wait in the view; plain tasks, other runs' and
// other nodes' items stay rows of their own; a claimed item is not listed twice; the group's
// filtered list (Run, ItemNode) has every item; closed views do not group.
func TestListTasksGroupItems(t *testing.T) {
	db, clock := newTaskStore(t)
	ctx := context.Background()
	ann := taskUser("ann", "finance")
	var items []*Task
	for i := range 37 {
		items = append(items, mustCreate(t, db, newTask("run-1", fmt.Sprintf("check.%d", i), "group:finance")))
		clock.Advance(time.Second)
	}
	mustCreate(t, db, newTask("run-1", "review", "group:finance"))
	clock.Advance(time.Second)
	mustCreate(t, db, newTask("run-2", "check.0", "group:finance"))
	mustCreate(t, db, newTask("run-2", "check.1", "group:finance"))
	mustCreate(t, db, newTask("run-1", "other.0", "group:ops"))
	if err := db.ClaimTask(ctx, items[3].ID, ann); err != nil {
		t.Fatal(err)
	}

	page, err := db.ListTasks(ctx, TaskFilter{User: ann, View: TaskViewOpen, GroupItems: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, task := range page.Tasks {
		got[task.RunID+"/"+task.NodeID] = task.Waiting
	}
	want := map[string]int{"run-2/check.1": 2, "run-1/review": 0, "run-1/check.36": 37}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("grouped rows = %v, want %v", got, want)
	}

	mine, err := db.ListTasks(ctx, TaskFilter{User: ann, View: TaskViewMine, GroupItems: true})
	if err != nil || len(mine.Tasks) != 1 || mine.Tasks[0].ID != items[3].ID || mine.Tasks[0].Waiting != 1 {
		t.Fatalf("mine, grouped = %+v, %v; want the claimed item, 1 waiting", mine.Tasks, err)
	}

	group, err := db.ListTasks(ctx, TaskFilter{User: ann, View: TaskViewOpen, Run: "run-1", ItemNode: "check", Limit: 100})
	if err != nil || len(group.Tasks) != 37 {
		t.Fatalf("the group's list: %d tasks, %v; want 37", len(group.Tasks), err)
	}
	for _, task := range group.Tasks {
		if task.Item == nil || task.Item.Node != "check" || task.RunID != "run-1" {
			t.Fatalf("the group's list has %s/%s", task.RunID, task.NodeID)
		}
	}

	if err := db.CloseTask(ctx, "run-1", "check.36", TaskDecision{Outcome: "approve", DecidedBy: "ann"}); err != nil {
		t.Fatal(err)
	}
	page, err = db.ListTasks(ctx, TaskFilter{User: ann, View: TaskViewOpen, GroupItems: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range page.Tasks {
		if task.Item != nil && task.RunID == "run-1" && (task.NodeID != "check.35" || task.Waiting != 36) {
			t.Fatalf("after deciding the newest item: %s waiting %d, want check.35 waiting 36", task.NodeID, task.Waiting)
		}
	}
	done, err := db.ListTasks(ctx, TaskFilter{User: ann, View: TaskViewDone, GroupItems: true})
	if err != nil || len(done.Tasks) != 1 || done.Tasks[0].Waiting != 0 {
		t.Fatalf("done, grouped: %+v, %v", done.Tasks, err)
	}
}
