package store

import (
	"context"
	"testing"
)

// TestItemTasks: the tasks of one map's items in a window of indexes, in item order (10 after
// 2), and nothing else: not the map node's own id, not another node that starts alike, not
// another run, not an index outside the window.
func TestItemTasks(t *testing.T) {
	db, _ := newTaskStore(t)
	for _, n := range []struct{ run, node string }{
		{"run-1", "m.10"}, {"run-1", "m.2"}, {"run-1", "m.0"}, {"run-1", "m"}, {"run-1", "mx.1"},
		{"run-1", "review"}, {"run-2", "m.1"}, {"run-1", "m.11"},
	} {
		mustCreate(t, db, newTask(n.run, n.node, "user:bob"))
	}
	got, err := db.ItemTasks(context.Background(), "run-1", "m", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	for _, it := range got {
		idx = append(idx, it.Index)
		if it.State != TaskOpen || it.ID == "" {
			t.Errorf("item %d: %+v", it.Index, it)
		}
	}
	if len(idx) != 3 || idx[0] != 0 || idx[1] != 2 || idx[2] != 10 {
		t.Fatalf("items = %v, want 0, 2, 10", idx)
	}
	if n, err := db.CountItemTasks(context.Background(), "run-1", "m"); err != nil || n != 4 {
		t.Fatalf("CountItemTasks = %d, %v; want 4", n, err)
	}
	for id, want := range map[string]bool{"m.3": true, "m.03": true, "m": false, "m.": false, "m.x": false, "m.1.2": false,
		".1": false, "m.1234567890": false, "a/1/2": false} {
		if _, _, ok := MapItemOf(id); ok != want {
			t.Errorf("MapItemOf(%q) ok = %v, want %v", id, ok, want)
		}
	}
}

// TestTaskItemStored: a map item's task keeps its node, index and the total the run gave; a
// task of any other node has no item.
func TestTaskItemStored(t *testing.T) {
	db, _ := newTaskStore(t)
	in := newTask("run-1", "m.4", "user:bob")
	in.ItemTotal = 12
	got, err := db.GetTask(context.Background(), mustCreate(t, db, in).ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Item == nil || *got.Item != (TaskItem{Node: "m", Index: 4, Total: 12, Run: "run-1"}) {
		t.Fatalf("item = %+v, want m, 4 of 12", got.Item)
	}
	plain := mustCreate(t, db, newTask("run-1", "review", "user:bob"))
	if plain.Item != nil {
		t.Fatalf("a plain task's item = %+v, want none", plain.Item)
	}
	unknown := mustCreate(t, db, newTask("run-1", "m.5", "user:bob"))
	if unknown.Item == nil || unknown.Item.Total != 0 {
		t.Fatalf("an item without a total: %+v, want total 0", unknown.Item)
	}
}

// TestTaskItemMigration: migration 0011 fills item_node and item_index of the tasks a store
// had before it, from node_id, and leaves other tasks alone; 0012 groups a batch's item task
// under its map's run.
func TestTaskItemMigration(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenScratch(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, node := range []string{"m.7", "m.12", "review", "m.1.2", "agent/1/0", "m.x"} {
		mustCreate(t, db, newTask("run-1", node, "user:bob"))
	}
	// Back to the schema before 0011, with the rows as an older build wrote them.
	mustCreate(t, db, newTask("run-1.m.batch1", "m.1000", "user:bob"))
	for _, q := range []string{`DROP INDEX tasks_by_item`, `DROP INDEX tasks_open_items`, `ALTER TABLE tasks DROP COLUMN item_run`,
		`ALTER TABLE tasks DROP COLUMN item_node`, `ALTER TABLE tasks DROP COLUMN item_index`,
		`ALTER TABLE tasks DROP COLUMN item_total`, `DELETE FROM schema_migrations WHERE version IN (11, 12)`} {
		if _, err := db.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenScratch(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.ItemTasks(ctx, "run-1", "m", 0, 2000)
	if err != nil {
		t.Fatal(err)
	}
	// 0012 then groups the batch's item with its map's run.
	if len(got) != 3 || got[0].Index != 7 || got[1].Index != 12 || got[2].Index != 1000 {
		t.Fatalf("items after the migrations = %+v, want 7, 12 and 1000", got)
	}
	for _, node := range []string{"review", "m.1.2", "agent/1/0", "m.x"} {
		task, err := db.GetTaskByNode(ctx, "run-1", node)
		if err != nil {
			t.Fatal(err)
		}
		if task.Item != nil {
			t.Errorf("task of %s: item %+v, want none", node, task.Item)
		}
	}
}

// TestItemTasksAcrossBatches: a map over 1,000 items runs them in batch child runs
// (RUN.NODE.batchK), whose tasks carry the batch's run id. They are still one map's items:
// one group in the inbox with every open item counted, siblings and the count across the
// batches, and the group's own list, while each task keeps the run its decision goes to.
// Runs whose ids only look alike are not merged.
func TestItemTasksAcrossBatches(t *testing.T) {
	ctx := context.Background()
	db, _ := newTaskStore(t)
	for _, n := range []struct{ run, node string }{
		{"run-1.m.batch0", "m.999"}, {"run-1.m.batch1", "m.1000"}, {"run-1.m.batch1", "m.1001"},
		{"run-1", "m.5"}, // a run whose map is not batched has tasks under its own id
		{"run-1.m.batchx", "m.7"}, {"run-1.n.batch0", "m.8"}, {"run-2.m.batch0", "m.9"},
	} {
		mustCreate(t, db, newTask(n.run, n.node, "user:bob"))
	}
	got, err := db.ItemTasks(ctx, "run-1", "m", 990, 1010)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Index != 999 || got[1].Index != 1000 || got[2].Index != 1001 {
		t.Fatalf("siblings = %+v, want items 999, 1000 and 1001 from both batches", got)
	}
	if n, err := db.CountItemTasks(ctx, "run-1", "m"); err != nil || n != 4 {
		t.Fatalf("CountItemTasks = %d, %v; want 4 (three from batches, one of run-1 itself)", n, err)
	}
	bob := &User{Name: "bob"}
	page, err := db.ListTasks(ctx, TaskFilter{User: bob, View: TaskViewOpen, GroupItems: true, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for _, tk := range page.Tasks {
		if tk.Item != nil {
			groups[tk.Item.Run+"/"+tk.Item.Node] = tk.Waiting
		}
	}
	want := map[string]int{"run-1/m": 4, "run-1.m.batchx/m": 1, "run-1.n.batch0/m": 1, "run-2/m": 1}
	if len(groups) != len(want) {
		t.Fatalf("groups = %v, want %v", groups, want)
	}
	for k, n := range want {
		if groups[k] != n && !(n == 1 && groups[k] == 0) {
			t.Errorf("group %s waits %d, want %d (all: %v)", k, groups[k], n, groups)
		}
	}
	list, err := db.ListTasks(ctx, TaskFilter{User: bob, View: TaskViewOpen, Run: "run-1", ItemNode: "m", Limit: 50})
	if err != nil || len(list.Tasks) != 4 {
		t.Fatalf("the group's list = %d tasks, %v; want 4", len(list.Tasks), err)
	}
	for _, tk := range list.Tasks {
		if tk.Item.Run != "run-1" || (tk.NodeID == "m.1000" && tk.RunID != "run-1.m.batch1") {
			t.Errorf("task %s of run %s: item run %q", tk.NodeID, tk.RunID, tk.Item.Run)
		}
	}
	// The edge cases of migration 0012's rule, read back through the generated column: a
	// batch number of several digits, none, a batch of no run, a run id with dots of its
	// own, and a node whose name only ends like the map's.
	for run, want := range map[string]string{
		"run-1.m.batch12": "run-1", "run-1.m.batch": "run-1.m.batch", "run-3": "run-3",
		".m.batch3": ".m.batch3", "a.b.m.batch0": "a.b", "run-1.mm.batch0": "run-1.mm.batch0",
	} {
		mustCreate(t, db, newTask(run, "m.42", "user:bob"))
		task, err := db.GetTaskByNode(ctx, run, "m.42")
		if err != nil {
			t.Fatal(err)
		}
		if task.Item == nil || task.Item.Run != want {
			t.Errorf("item run of a task of run %q = %+v, want %q", run, task.Item, want)
		}
	}
}
