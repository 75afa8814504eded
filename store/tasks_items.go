package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ItemTask is one task of a map's items: the task of item Index (from 0) of node Node.
type ItemTask struct {
	ID      string
	Index   int
	State   string
	Outcome string
}

// maxItemDigits bounds an item index's digits, as migration 0011 does when it fills
// item_index from node_id.
const maxItemDigits = 9

// MapItemOf splits the node id of a map item's task, NODE.INDEX, into the map's node and the
// item's index; ok is false for any other task (node ids have no dots).
func MapItemOf(nodeID string) (node string, index int, ok bool) {
	node, n, found := strings.Cut(nodeID, ".")
	if !found || node == "" || n == "" || len(n) > maxItemDigits || strings.TrimLeft(n, "0123456789") != "" {
		return "", 0, false
	}
	index, err := strconv.Atoi(n)
	return node, index, err == nil
}

// ItemTasks lists the tasks of the items of map node of run runID (TaskItem.Run, so across
// the map's batches) whose index is from first to last (both included), in item order: the
// siblings a map item's task links to. It reads only those rows, however many items the
// map has.
func (db *DB) ItemTasks(ctx context.Context, runID, node string, first, last int) ([]ItemTask, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, item_index, state, outcome FROM tasks INDEXED BY tasks_by_item
		WHERE item_run = ? AND item_node = ? AND item_index BETWEEN ? AND ? ORDER BY item_index`, runID, node, first, last)
	if err != nil {
		return nil, fmt.Errorf("tasks of %s/%s: %w", runID, node, err)
	}
	defer rows.Close()
	var out []ItemTask
	for rows.Next() {
		var id int64
		var t ItemTask
		if err := rows.Scan(&id, &t.Index, &t.State, &t.Outcome); err != nil {
			return nil, fmt.Errorf("tasks of %s/%s: %w", runID, node, err)
		}
		t.ID = taskIDString(id)
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountItemTasks counts the tasks there are of the items of map node in run runID: the
// total a map item's task shows when its run did not give one.
func (db *DB) CountItemTasks(ctx context.Context, runID, node string) (int, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM tasks INDEXED BY tasks_by_item WHERE item_run = ? AND item_node = ?`,
		runID, node).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tasks of %s/%s: %w", runID, node, err)
	}
	return n, nil
}
