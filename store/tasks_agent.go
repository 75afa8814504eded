package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// OpenCallTask returns the oldest open task of an agent node's tool calls (node ids
// NODE/STEP/CALL), or ErrNotFound when none waits. The range on node_id stays on the
// (run_id, node_id) index: '0' follows '/'.
func (db *DB) OpenCallTask(ctx context.Context, runID, nodeID string) (*Task, error) {
	var id int64
	err := db.db.QueryRowContext(ctx, `SELECT id FROM tasks WHERE run_id = ? AND node_id >= ? AND node_id < ? AND state = 'open'
		ORDER BY created_at, id LIMIT 1`, runID, nodeID+"/", nodeID+"0").Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("run %s has no open task for a tool call of node %s", runID, nodeID)
	}
	if err != nil {
		return nil, fmt.Errorf("tool call task of %s/%s: %w", runID, nodeID, err)
	}
	return db.getTask(ctx, id)
}
