package store

import (
	"context"
	"fmt"
	"slices"
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

// MapItemOf splits the node id of a map item's task, NODE.INDEX, into the map's node and the
// item's index; ok is false for any other task (node ids have no dots).
func MapItemOf(nodeID string) (node string, index int, ok bool) {
	node, n, found := strings.Cut(nodeID, ".")
	if !found || node == "" || n == "" || strings.TrimLeft(n, "0123456789") != "" {
		return "", 0, false
	}
	index, err := strconv.Atoi(n)
	return node, index, err == nil
}

// ItemTasks lists the tasks of the items of map node in run runID, in item order: the
// siblings a map item's task links to.
func (db *DB) ItemTasks(ctx context.Context, runID, node string) ([]ItemTask, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, node_id, state, coalesce(outcome, '') FROM tasks
		WHERE run_id = ? AND node_id >= ? AND node_id < ?`, runID, node+".", node+"/") // '/' follows '.'
	if err != nil {
		return nil, fmt.Errorf("tasks of %s/%s: %w", runID, node, err)
	}
	defer rows.Close()
	var out []ItemTask
	for rows.Next() {
		var id int64
		var nodeID string
		var t ItemTask
		if err := rows.Scan(&id, &nodeID, &t.State, &t.Outcome); err != nil {
			return nil, fmt.Errorf("tasks of %s/%s: %w", runID, node, err)
		}
		base, index, ok := MapItemOf(nodeID)
		if !ok || base != node {
			continue
		}
		t.ID, t.Index = taskIDString(id), index
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b ItemTask) int { return a.Index - b.Index })
	return out, rows.Err()
}
