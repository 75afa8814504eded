package store

import (
	"context"
	"testing"
)

// TestItemTasks: the tasks of one map's items, in item order (10 after 2), and nothing else:
// not the map node's own id, not another node that starts alike, not another run.
func TestItemTasks(t *testing.T) {
	db, _ := newTaskStore(t)
	for _, n := range []struct{ run, node string }{
		{"run-1", "m.10"}, {"run-1", "m.2"}, {"run-1", "m.0"}, {"run-1", "m"}, {"run-1", "mx.1"},
		{"run-1", "review"}, {"run-2", "m.1"},
	} {
		mustCreate(t, db, newTask(n.run, n.node, "user:bob"))
	}
	got, err := db.ItemTasks(context.Background(), "run-1", "m")
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
	for id, want := range map[string]bool{"m.3": true, "m.03": true, "m": false, "m.": false, "m.x": false, "m.1.2": false, ".1": false} {
		if _, _, ok := MapItemOf(id); ok != want {
			t.Errorf("MapItemOf(%q) ok = %v, want %v", id, ok, want)
		}
	}
}
