package store

import (
	"context"
	"fmt"
	"time"
)

// VersionTasks is what people did on one version's tasks: how many are open now, and the
// decisions made since a time by outcome (a decision by the due rule counts under its outcome).
type VersionTasks struct {
	Version   int            `json:"version"`
	Open      int            `json:"open_tasks"`
	Decisions map[string]int `json:"decisions"`
}

// VersionTaskStats counts, per version of a graph, the open tasks (however old) and the
// decisions of tasks created at or after since, by outcome. Versions without tasks are left out.
func (db *DB) VersionTaskStats(ctx context.Context, graphID string, since time.Time) (map[int]*VersionTasks, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT version, state, outcome, count(*) FROM tasks
		WHERE graph_id = ? AND (state = 'open' OR (state = 'done' AND created_at >= ?))
		GROUP BY version, state, outcome`, graphID, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("task stats of %s: %w", graphID, err)
	}
	defer rows.Close()
	out := map[int]*VersionTasks{}
	for rows.Next() {
		var v, n int
		var state, outcome string
		if err := rows.Scan(&v, &state, &outcome, &n); err != nil {
			return nil, fmt.Errorf("task stats of %s: %w", graphID, err)
		}
		vt := out[v]
		if vt == nil {
			vt = &VersionTasks{Version: v, Decisions: map[string]int{}}
			out[v] = vt
		}
		if state == TaskOpen {
			vt.Open += n
		} else {
			vt.Decisions[outcome] += n
		}
	}
	return out, rows.Err()
}
