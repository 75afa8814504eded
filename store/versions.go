package store

import (
	"context"
	"fmt"
)

// MoveRunTasks gives the open tasks of a run the version the run moved to, so that the inbox
// and the task page show it. Decided tasks keep the version they were decided on. Moving
// twice to the same version changes nothing.
func (db *DB) MoveRunTasks(ctx context.Context, runID string, version int) error {
	if version < 1 {
		return fmt.Errorf("move tasks of %s: version %d: %w", runID, version, ErrInvalid)
	}
	if _, err := db.db.ExecContext(ctx, `UPDATE tasks SET version = ? WHERE run_id = ? AND state = 'open'`, version, runID); err != nil {
		return fmt.Errorf("move tasks of %s: %w", runID, err)
	}
	return nil
}
