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
	if got.Item == nil || *got.Item != (TaskItem{Node: "m", Index: 4, Total: 12}) {
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
// had before it, from node_id, and leaves other tasks alone.
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
	for _, q := range []string{`DROP INDEX tasks_by_item`, `DROP INDEX tasks_open_items`,
		`ALTER TABLE tasks DROP COLUMN item_node`, `ALTER TABLE tasks DROP COLUMN item_index`,
		`ALTER TABLE tasks DROP COLUMN item_total`, `DELETE FROM schema_migrations WHERE version = 11`} {
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
	got, err := db.ItemTasks(ctx, "run-1", "m", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 7 || got[1].Index != 12 {
		t.Fatalf("items after the migration = %+v, want 7 and 12", got)
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
