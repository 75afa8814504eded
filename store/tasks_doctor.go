package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// What trellis doctor needs of the tasks: every open task, and a way to close one whose run
// no longer waits on it, saying why.

// TaskKey names a task: its id and the run and node it belongs to.
type TaskKey struct {
	ID     string
	RunID  string
	NodeID string
}

// DoctorActor is who closes the tasks trellis doctor finds stale.
const DoctorActor = "doctor"

// OpenTaskKeys lists every open task, oldest first.
func (db *DB) OpenTaskKeys(ctx context.Context) ([]TaskKey, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, run_id, node_id FROM tasks WHERE state = 'open' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open tasks: %w", err)
	}
	defer rows.Close()
	var out []TaskKey
	for rows.Next() {
		var k TaskKey
		var id int64
		if err := rows.Scan(&id, &k.RunID, &k.NodeID); err != nil {
			return nil, fmt.Errorf("open tasks: %w", err)
		}
		k.ID = taskIDString(id)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("open tasks: %w", err)
	}
	return out, nil
}

// CancelStaleTask closes an open task that its run no longer waits on, as CancelTask does
// when a run stops, by DoctorActor and with note (kept as the task's comment). closed is
// false when the task was not open (anymore): nothing changed.
func (db *DB) CancelStaleTask(ctx context.Context, runID, nodeID, note string) (closed bool, err error) {
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		id, state, _, _, _, _, err := taskState(ctx, tx, `run_id = ? AND node_id = ?`, runID, nodeID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && state != TaskOpen) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'cancelled', comment = ? WHERE id = ?`,
			clipRunes(note, MaxTaskCommentLength), id); err != nil {
			return err
		}
		closed = true
		return addEvent(ctx, tx, id, db.nowNanos(), TaskEvent{Kind: TaskEventCancelled, Actor: DoctorActor})
	})
	return closed, wrapTaskErr(fmt.Sprintf("cancel task of %s/%s", runID, nodeID), err)
}
