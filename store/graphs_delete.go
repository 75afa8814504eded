package store

import (
	"context"
	"database/sql"
	"fmt"
)

// deleteGraphTriggers deletes, inside a graph's deletion, what starts its runs: its hooks
// (their deliveries and keys go by cascade) with the secrets that sign them, and its
// schedules' index rows. The Temporal schedules themselves are the caller's to delete first
// (actions.Triggers.DeleteGraph); left here, a hook of a deleted graph would keep answering
// and its secret would stay in the secrets list (issue 16).
func deleteGraphTriggers(ctx context.Context, tx *sql.Tx, graphID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE name IN (SELECT secret_name FROM hooks WHERE graph_id = ?)`, graphID); err != nil {
		return fmt.Errorf("delete the hook secrets of graph %s: %w", graphID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM hooks WHERE graph_id = ?`, graphID); err != nil {
		return fmt.Errorf("delete the hooks of graph %s: %w", graphID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE graph_id = ?`, graphID); err != nil {
		return fmt.Errorf("delete the schedules of graph %s: %w", graphID, err)
	}
	return nil
}
