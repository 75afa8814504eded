package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// NodeFigures are one node's figures over a version's runs in a window: how often it failed,
// its p95 duration (milliseconds, nil before any) and its cost; Runs counts the runs it ran in.
type NodeFigures struct {
	Runs          int     `json:"runs"`
	Failed        int     `json:"failed"`
	DurationP95Ms *int64  `json:"duration_p95_ms"`
	Cost          float64 `json:"cost"`
}

// VersionNodeFigures sums up, per version and node, the nodes of a graph's runs started at
// or after since that have ended.
func (db *DB) VersionNodeFigures(ctx context.Context, graphID string, since time.Time) (map[int]map[string]*NodeFigures, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT version, node_id, count(*), sum(failed), count(duration_ms), coalesce(sum(cost), 0)
		FROM run_node_rollup INDEXED BY run_node_rollup_by_node WHERE graph_id = ? AND started_at >= ? GROUP BY version, node_id`, graphID, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("node figures of %s: %w", graphID, err)
	}
	type key struct {
		version int
		node    string
	}
	timed := map[key]int{}
	out := map[int]map[string]*NodeFigures{}
	for rows.Next() {
		var k key
		var f NodeFigures
		var n int
		if err := rows.Scan(&k.version, &k.node, &f.Runs, &f.Failed, &n, &f.Cost); err != nil {
			rows.Close()
			return nil, fmt.Errorf("node figures of %s: %w", graphID, err)
		}
		if out[k.version] == nil {
			out[k.version] = map[string]*NodeFigures{}
		}
		out[k.version][k.node] = &f
		timed[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for k, n := range timed {
		if n == 0 {
			continue
		}
		// The 95th percentile, walked from the top of the duration index.
		var d int64
		err := db.db.QueryRowContext(ctx, `SELECT duration_ms FROM run_node_rollup INDEXED BY run_node_rollup_by_duration
			WHERE graph_id = ? AND version = ? AND node_id = ? AND duration_ms IS NOT NULL AND started_at >= ?
			ORDER BY duration_ms DESC LIMIT 1 OFFSET ?`, graphID, k.version, k.node, since.UnixNano(), n-(95*n+99)/100).Scan(&d)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("node durations of %s: %w", graphID, err)
		}
		out[k.version][k.node].DurationP95Ms = &d
	}
	return out, nil
}
