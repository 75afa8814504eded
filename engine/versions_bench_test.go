package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// BenchmarkVersionStats_100k measures VersionOutcomes and OpenRuns (what the Versions tab and
// GET …/versions/stats read from Temporal) over 100,000 runs of one graph in 5 versions.
// Starting 100,000 runs would take over an hour here, so the runs are synthesized: five real
// runs are started and ended, and their visibility rows in the embedded server's SQLite file
// are copied 20,000 times each with new ids, start and close times, statuses and durations.
// The queries then go through the real frontend and visibility store, as in production.
func BenchmarkVersionStats_100k(b *testing.B) {
	dir := b.TempDir()
	cl := startCluster(b, dir, Deps{})
	ctx := context.Background()
	g := mustGraph(b, `{"format": "trellis.graph/v1", "name": "S", "nodes": [{"id": "t", "kind": "transform", "config": {"value": "1"}}], "edges": []}`)
	var ids []string
	for v := 1; v <= 5; v++ {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "stats", Version: v, Definition: g, Input: map[string]any{}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitRun(b, cl.eng, id, "ended", ended)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "temporal.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		_ = db.QueryRow(`SELECT count(*) FROM executions_visibility WHERE workflow_id LIKE 'run-%' AND close_time IS NOT NULL`).Scan(&n)
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("visibility has %d of the 5 runs ended", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t0 := time.Now()
	if err := synthesizeRuns(db, 20_000); err != nil {
		b.Fatal(err)
	}
	b.Logf("synthesized 100,000 visibility rows in %s", time.Since(t0))
	since := time.Now().Add(-30 * 24 * time.Hour)
	var times []time.Duration
	b.ResetTimer()
	for range max(b.N, 2) {
		start := time.Now()
		out, _, err := cl.eng.VersionOutcomes(ctx, "stats", since)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := cl.eng.OpenRuns(ctx, "stats"); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		b.Logf("report %d: %s", len(times), times[len(times)-1])
		total := 0
		for _, o := range out {
			for _, n := range o.Runs {
				total += n
			}
		}
		if total != 100_005 {
			b.Fatalf("the report counts %d runs, want 100,005", total)
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "p50_ms")
	// With a few samples the 99th percentile is the slowest.
	b.ReportMetric(float64(times[len(times)*99/100].Milliseconds()), "ms")
}

// synthesizeRuns copies each real run's visibility row copies times with new ids, times and
// statuses: a fifth of them still open.
func synthesizeRuns(db *sql.DB, copies int) error {
	rows, err := db.Query(`SELECT namespace_id, workflow_type_name, encoding, task_queue, search_attributes, start_time FROM executions_visibility WHERE workflow_id LIKE 'run-%'`)
	if err != nil {
		return err
	}
	type proto struct{ ns, typ, enc, tq, sa, start string }
	var protos []proto
	for rows.Next() {
		var p proto
		if err := rows.Scan(&p.ns, &p.typ, &p.enc, &p.tq, &p.sa, &p.start); err != nil {
			return err
		}
		protos = append(protos, p)
	}
	rows.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	stmt, err := tx.Prepare(`INSERT INTO executions_visibility (namespace_id, run_id, start_time, execution_time, workflow_id,
		workflow_type_name, status, close_time, execution_duration, encoding, task_queue, search_attributes, history_length)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 10)`)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for pi, p := range protos {
		var sa map[string]any
		if err := json.Unmarshal([]byte(p.sa), &sa); err != nil {
			return fmt.Errorf("search attributes %q: %w", p.sa, err)
		}
		for i := range copies {
			start := now.Add(-time.Duration(i%(20*24*60)) * time.Minute)
			d := time.Duration(200+(i*7919)%60_000) * time.Millisecond
			status, closeAt, dur := 2, any(start.Add(d).Format("2006-01-02 15:04:05.000000+00:00")), any(int64(d))
			switch i % 10 {
			case 0, 1:
				status, closeAt, dur = 1, nil, nil
			case 2:
				status = 3
			case 3:
				status = 4
			}
			id := fmt.Sprintf("run-synth-%d-%06d", pi, i)
			if _, err := stmt.Exec(p.ns, fmt.Sprintf("%08d-0000-4000-8000-%012d", pi, i), start.Format("2006-01-02 15:04:05.000000+00:00"),
				start.Format("2006-01-02 15:04:05.000000+00:00"), id, p.typ, status, closeAt, dur, p.enc, p.tq, marshalSA(sa)); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func marshalSA(sa map[string]any) string {
	b, _ := json.Marshal(sa)
	return string(b)
}
