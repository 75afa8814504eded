package store

import (
	"context"
	"fmt"
	"time"
)

// OpenTasks is how many tasks of a graph are open, and how many of those are past due.
type OpenTasks struct {
	GraphID string
	Open    int
	Overdue int
}

// CountOpenByGraph counts the open tasks of every graph that has any, for /metrics.
func (db *DB) CountOpenByGraph(ctx context.Context, now time.Time) ([]OpenTasks, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT graph_id, count(*), coalesce(sum(due_at IS NOT NULL AND due_at < ?), 0)
		FROM tasks WHERE state = 'open' GROUP BY graph_id ORDER BY graph_id`, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("count open tasks: %w", err)
	}
	defer rows.Close()
	var out []OpenTasks
	for rows.Next() {
		var o OpenTasks
		if err := rows.Scan(&o.GraphID, &o.Open, &o.Overdue); err != nil {
			return nil, fmt.Errorf("count open tasks: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
