package store

import (
	"context"
	"fmt"
	"time"
)

// RunsStartedSince counts the runs of each graph started at or after since (runs of
// published versions, as run_rollup holds them), in one query for the graph list.
func (db *DB) RunsStartedSince(ctx context.Context, since time.Time) (map[string]int, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT graph_id, count(*) FROM run_rollup WHERE started_at >= ? GROUP BY graph_id`,
		since.UTC().UnixNano())
	if err != nil {
		return nil, fmt.Errorf("count runs since %s: %w", since.Format(time.RFC3339), err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count runs: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
