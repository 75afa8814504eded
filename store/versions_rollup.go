package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"trellis/designer"
)

// RecordRunReport records a run's report. It is idempotent (a retry of the same report changes
// nothing) and order-proof (an older report never undoes a newer one, so the end stays).
func (db *DB) RecordRunReport(ctx context.Context, r designer.RunReport) error {
	if r.RunID == "" || r.GraphID == "" || r.Version < 1 || r.Status == "" {
		return fmt.Errorf("record run %q: %w: run, graph, version and status are required", r.RunID, ErrInvalid)
	}
	var ended, dur any
	if r.EndedAt != nil {
		ended, dur = r.EndedAt.UnixNano(), max(r.EndedAt.Sub(r.StartedAt).Milliseconds(), 0)
	}
	const upsert = `INSERT INTO run_rollup (run_id, graph_id, version, status, seq, started_at, ended_at, duration_ms, tokens, cost)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET version = excluded.version, status = excluded.status, seq = excluded.seq,
			ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, tokens = excluded.tokens, cost = excluded.cost
		WHERE excluded.seq > run_rollup.seq`
	// The end and its nodes in one commit: a run waits for its end report (a local activity
	// in its last workflow task on serve's worker), and each commit is a sync of the file.
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, upsert, r.RunID, r.GraphID, r.Version, r.Status, r.Seq, r.StartedAt.UnixNano(), ended, dur,
			nullInt64(r.Tokens), nullFloat(r.Cost)); err != nil {
			return fmt.Errorf("record run %s: %w", r.RunID, err)
		}
		if r.EndedAt == nil {
			return nil
		}
		return recordNodes(ctx, tx, r)
	})
}

// recordNodes keeps the nodes of an end report; the same report again replaces them.
func recordNodes(ctx context.Context, tx *sql.Tx, r designer.RunReport) error {
	for _, n := range r.Nodes {
		failed := 0
		if n.Failed {
			failed = 1
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_node_rollup (run_id, node_id, graph_id, version, started_at, failed, duration_ms, cost)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.RunID, n.Node, r.GraphID, r.Version, r.StartedAt.UnixNano(), failed,
			nullInt64(n.DurationMs), nullFloat(n.Cost)); err != nil {
			return fmt.Errorf("record nodes of run %s: %w", r.RunID, err)
		}
	}
	return nil
}

func nullInt64(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// VersionRuns sums up one version's runs started in a window: how many are in each status,
// how many ended and completed, the duration percentiles of the ended ones (milliseconds)
// and their llm usage.
type VersionRuns struct {
	Version   int
	Runs      map[string]int
	Ended     int
	Completed int
	P50, P95  *int64
	Tokens    int64
	Cost      float64
}

// endedStatuses are the statuses of runs that ended.
var endedStatuses = map[string]bool{"completed": true, "failed": true, "cancelled": true}

// VersionRollup sums up, per version, a graph's runs started at or after since.
func (db *DB) VersionRollup(ctx context.Context, graphID string, since time.Time) (map[int]*VersionRuns, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT version, status, count(*), coalesce(sum(tokens), 0), coalesce(sum(cost), 0) FROM run_rollup
		INDEXED BY run_rollup_by_version WHERE graph_id = ? AND started_at >= ? GROUP BY version, status`, graphID, since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("version rollup of %s: %w", graphID, err)
	}
	out := map[int]*VersionRuns{}
	for rows.Next() {
		var v, n int
		var status string
		var tokens int64
		var cost float64
		if err := rows.Scan(&v, &status, &n, &tokens, &cost); err != nil {
			rows.Close()
			return nil, fmt.Errorf("version rollup of %s: %w", graphID, err)
		}
		vr := out[v]
		if vr == nil {
			vr = &VersionRuns{Version: v, Runs: map[string]int{}}
			out[v] = vr
		}
		vr.Runs[status] += n
		vr.Tokens += tokens
		vr.Cost += cost
		if endedStatuses[status] {
			vr.Ended += n
		}
		if status == "completed" {
			vr.Completed += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, vr := range out {
		if vr.Ended == 0 {
			continue
		}
		if vr.P50, err = db.durationAt(ctx, graphID, vr.Version, since, vr.Ended, 50); err != nil {
			return nil, err
		}
		if vr.P95, err = db.durationAt(ctx, graphID, vr.Version, since, vr.Ended, 95); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// durationAt is the nearest-rank p-th percentile of the durations of a version's n ended
// runs in the window, read in index order (run_rollup_by_duration) without sorting.
func (db *DB) durationAt(ctx context.Context, graphID string, version int, since time.Time, n, p int) (*int64, error) {
	k := max((p*n+99)/100-1, 0)
	// The index is walked from the nearer end: the 95th of 16,000 is 800 steps from the top.
	order := "ASC"
	if k > n/2 {
		order, k = "DESC", n-1-k
	}
	var d int64
	err := db.db.QueryRowContext(ctx, `SELECT duration_ms FROM run_rollup INDEXED BY run_rollup_by_duration
		WHERE graph_id = ? AND version = ? AND duration_ms IS NOT NULL AND started_at >= ?
		ORDER BY duration_ms `+order+` LIMIT 1 OFFSET ?`, graphID, version, since.UnixNano(), k).Scan(&d)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("durations of %s version %d: %w", graphID, version, err)
	}
	return &d, nil
}

// OpenRun is a run still open, for the draining view.
type OpenRun struct {
	RunID     string
	Status    string
	StartedAt time.Time
}

// VersionOpenRuns is one version's runs still open, however old, by status, and the oldest.
type VersionOpenRuns struct {
	Version int
	Runs    map[string]int
	Total   int
	Oldest  *OpenRun
}

// OpenRunsByVersion counts a graph's open runs per version, with the oldest of each.
func (db *DB) OpenRunsByVersion(ctx context.Context, graphID string) (map[int]*VersionOpenRuns, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT version, status, count(*) FROM run_rollup INDEXED BY run_rollup_open
		WHERE graph_id = ? AND ended_at IS NULL GROUP BY version, status`, graphID)
	if err != nil {
		return nil, fmt.Errorf("open runs of %s: %w", graphID, err)
	}
	out := map[int]*VersionOpenRuns{}
	for rows.Next() {
		var v, n int
		var status string
		if err := rows.Scan(&v, &status, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("open runs of %s: %w", graphID, err)
		}
		o := out[v]
		if o == nil {
			o = &VersionOpenRuns{Version: v, Runs: map[string]int{}}
			out[v] = o
		}
		o.Runs[status] += n
		o.Total += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for v, o := range out {
		var r OpenRun
		var at int64
		err := db.db.QueryRowContext(ctx, `SELECT run_id, status, started_at FROM run_rollup INDEXED BY run_rollup_open
			WHERE graph_id = ? AND version = ? AND ended_at IS NULL ORDER BY started_at, run_id LIMIT 1`, graphID, v).Scan(&r.RunID, &r.Status, &at)
		if err != nil {
			return nil, fmt.Errorf("oldest open run of %s version %d: %w", graphID, v, err)
		}
		r.StartedAt = fromNanos(at)
		o.Oldest = &r
	}
	return out, nil
}

// OpenRollupRuns lists, as their last reports (no end: EndedAt is nil), up to limit runs the
// rollup holds open, for the reconciliation of runs that ended without reporting (trellis
// doctor, serve's periodic pass). It lists those whose ids come after after,
// in id order, so that a caller pages through them (after "" is the first page). It reads
// the partial index of open rows, which holds only those.
func (db *DB) OpenRollupRuns(ctx context.Context, after string, limit int) ([]designer.RunReport, error) {
	if limit < 1 {
		return nil, fmt.Errorf("open rollup runs: %w: limit %d", ErrInvalid, limit)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT run_id, graph_id, version, status, seq, started_at FROM run_rollup INDEXED BY run_rollup_open
		WHERE ended_at IS NULL AND run_id > ? ORDER BY run_id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("open rollup runs: %w", err)
	}
	defer rows.Close()
	var out []designer.RunReport
	for rows.Next() {
		var r designer.RunReport
		var at int64
		if err := rows.Scan(&r.RunID, &r.GraphID, &r.Version, &r.Status, &r.Seq, &at); err != nil {
			return nil, fmt.Errorf("open rollup runs: %w", err)
		}
		r.StartedAt = fromNanos(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RollupRunStillOpen says whether the run's row is still open at seq: nothing was recorded
// for it since it was read.
func (db *DB) RollupRunStillOpen(ctx context.Context, runID string, seq int64) (bool, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM run_rollup WHERE run_id = ? AND seq = ? AND ended_at IS NULL`,
		runID, seq).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("rollup row of %s: %w", runID, err)
	}
	return n > 0, nil
}

// CloseRollupRun records the end of a run that ended without reporting it (terminated from
// outside, timed out, past Temporal's retention): status and endedAt, the duration from the
// row's start, no usage. Only a row still open at seq changes, so an end is recorded once
// and a report that came meanwhile is kept. seq stays as it was: a later real report of the
// run (a higher seq, as from a run reset to go on) still replaces this end. changed says
// whether the row was closed.
func (db *DB) CloseRollupRun(ctx context.Context, runID string, seq int64, status string, endedAt time.Time) (bool, error) {
	if !endedStatuses[status] {
		return false, fmt.Errorf("close rollup run %s: %w: %q is not an ended status", runID, ErrInvalid, status)
	}
	res, err := db.db.ExecContext(ctx, `UPDATE run_rollup SET status = ?, ended_at = ?, duration_ms = max((? - started_at) / 1000000, 0)
		WHERE run_id = ? AND seq = ? AND ended_at IS NULL`, status, endedAt.UnixNano(), endedAt.UnixNano(), runID, seq)
	if err != nil {
		return false, fmt.Errorf("close rollup run %s: %w", runID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("close rollup run %s: %w", runID, err)
	}
	return n > 0, nil
}

// EarliestRollupStart is the start of the earliest run in the rollup (ok false when it has
// none): the runs that started before it are from before the rollup existed.
func (db *DB) EarliestRollupStart(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	if err := db.db.QueryRowContext(ctx, `SELECT min(started_at) FROM run_rollup`).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("earliest rollup start: %w", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(at.Int64), true, nil
}

// RollupHasRun says whether the rollup has a row for the run.
func (db *DB) RollupHasRun(ctx context.Context, runID string) (bool, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM run_rollup WHERE run_id = ?`, runID).Scan(&n); err != nil {
		return false, fmt.Errorf("rollup row of %s: %w", runID, err)
	}
	return n > 0, nil
}
