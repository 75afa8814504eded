package engine

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"trellis/store"
)

// BenchmarkVersionStats_100k measures what the Versions tab and GET …/versions/stats read of
// a graph's runs: the store's run rollup (VersionRollup, OpenRunsByVersion) and its tasks
// (VersionTaskStats), over 100,000 runs of one graph in 5 versions, a fifth still open, in
// a 30-day window, with the per-node figures of their one node. Runs fill the rollup themselves as they start, change and end
// (TestRunRollupFromRuns); here the 100,000 rows are written straight into the store's
// SQLite file, in one transaction, as the runs would have reported them.
func BenchmarkVersionStats_100k(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	path := filepath.Join(dir, "trellis.db")
	db, err := store.Open(ctx, path, store.Options{KeyFile: filepath.Join(dir, "key"), BcryptCost: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now()
	if err := synthesizeRollup(path, 5, 20_000); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote 100,000 rollup rows in %s", time.Since(t0))
	since := time.Now().Add(-30 * 24 * time.Hour)
	var times []time.Duration
	b.ResetTimer()
	for range max(b.N, 20) {
		start := time.Now()
		runs, err := db.VersionRollup(ctx, "stats", since)
		if err != nil {
			b.Fatal(err)
		}
		open, err := db.OpenRunsByVersion(ctx, "stats")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.VersionTaskStats(ctx, "stats", since); err != nil {
			b.Fatal(err)
		}
		nodes, err := db.VersionNodeFigures(ctx, "stats", since)
		if err != nil {
			b.Fatal(err)
		}
		if f := nodes[1]["t"]; f == nil || f.Runs != 16_000 || f.DurationP95Ms == nil {
			b.Fatalf("node figures of v1 = %+v", f)
		}
		times = append(times, time.Since(start))
		total, opened := 0, 0
		for _, r := range runs {
			for _, n := range r.Runs {
				total += n
			}
			if r.P95 == nil {
				b.Fatalf("version %d has no p95", r.Version)
			}
		}
		for _, o := range open {
			opened += o.Total
		}
		if total != 100_000 || opened != 20_000 {
			b.Fatalf("the report counts %d runs, %d open; want 100,000 and 20,000", total, opened)
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50_ms")
	// With 20 samples the 99th percentile is the slowest.
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "ms")
}

// synthesizeRollup writes copies rows for each of versions versions of graph "stats": start
// times over 20 days, durations from 0.2 s to a minute, a fifth open (running or waiting),
// a tenth failed, a tenth cancelled, the rest completed with some llm usage.
func synthesizeRollup(path string, versions, copies int) error {
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer raw.Close()
	tx, err := raw.Begin()
	if err != nil {
		return err
	}
	stmt, err := tx.Prepare(`INSERT INTO run_rollup (run_id, graph_id, version, status, seq, started_at, ended_at, duration_ms, tokens, cost)
		VALUES (?, 'stats', ?, ?, 3, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	nodeStmt, err := tx.Prepare(`INSERT INTO run_node_rollup (run_id, node_id, graph_id, version, started_at, failed, duration_ms, cost)
		VALUES (?, 't', 'stats', ?, ?, ?, ?, NULL)`)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for v := 1; v <= versions; v++ {
		for i := range copies {
			start := now.Add(-time.Duration(i%(20*24*60)) * time.Minute)
			d := int64(200 + (i*7919)%60_000)
			status, ended, dur, tokens, cost := RunCompleted, any(start.UnixNano()+d*1e6), any(d), any(int64(100+i%900)), any(float64(i%50)/1000)
			switch i % 10 {
			case 0:
				status, ended, dur, tokens, cost = RunRunning, nil, nil, nil, nil
			case 1:
				status, ended, dur, tokens, cost = RunWaiting, nil, nil, nil, nil
			case 2:
				status = RunFailed
			case 3:
				status = RunCancelled
			}
			id := fmt.Sprintf("run-synth-%d-%06d", v, i)
			if _, err := stmt.Exec(id, v, status, start.UnixNano(), ended, dur, tokens, cost); err != nil {
				return err
			}
			if ended != nil {
				if _, err := nodeStmt.Exec(id, v, start.UnixNano(), status == RunFailed, dur); err != nil {
					return err
				}
			}
		}
	}
	return tx.Commit()
}
