package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// workersGraph is four http calls, two of them side by side, against the benchmark's local
// service.
const workersGraph = `{"format": "trellis.graph/v1", "name": "Four calls", "nodes": [
	{"id": "a", "kind": "http", "config": {"url": "{{ input.base }}/a"}},
	{"id": "b", "kind": "http", "config": {"url": "{{ input.base }}/b"}},
	{"id": "c", "kind": "http", "config": {"url": "{{ input.base }}/c"}},
	{"id": "d", "kind": "http", "config": {"url": "{{ input.base }}/d"}}],
  "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}, {"from": "b", "to": "d"}, {"from": "c", "to": "d"}]}`

// startBenchWorker starts a `trellis worker` process on serve's frontend, as on another
// machine (no data dir: serve's URL and the worker token), and waits until it is connected.
func startBenchWorker(tb testing.TB, s *benchServe, tokenFile string) *benchProc {
	tb.Helper()
	w := startProc(tb, "worker", "--temporal-address", s.frontend, "--serve-url", s.url,
		"--worker-token-file", tokenFile, "--http-allow-private")
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(w.out.String(), "worker connected to "+s.frontend); time.Sleep(50 * time.Millisecond) {
		if w.done() || time.Now().After(deadline) {
			tb.Fatalf("the worker did not connect:\n%s%s", w.out, w.logTail())
		}
	}
	return w
}

// BenchmarkWorkers2: runs of a graph of four http activities, started by 8 concurrent
// callers through the API, on serve (which leaves runs to remote workers, as
// TestScaleOutWorker sets it up) with one `trellis worker` process and with two. The phases
// alternate (1, 2, 1, 2, 1, 2 workers), so that what else loads the machine falls on both;
// speedup is the runs/s of the two-worker phases over that of the one-worker phases. Each
// phase starts with a few runs that are not timed (a new worker compiles the graph once).
func BenchmarkWorkers2(b *testing.B) {
	const perPhase, warm, starters = 60, 8, 8
	svc := testsvc.New(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer svc.Close()
	data := benchDataDir(b)
	analyst := benchUser(b, data, "ana", "analyst", "")
	tokenFile := filepath.Join(b.TempDir(), "worker.token")
	s := startBenchServe(b, data, freeAddr(b), "--remote-workers-only", "--worker-token-file", tokenFile)
	defer s.stop(b)
	graph := benchPublish(b, s.url, analyst, workersGraph)
	input := func(int) map[string]any { return map[string]any{"base": svc.URL} }
	first := startBenchWorker(b, s, tokenFile)
	defer first.stop(b)

	var errs errTally
	var runs, took [3]float64 // by number of workers
	var second *benchProc
	b.ResetTimer()
	for phase := range 6 {
		workers := 1 + phase%2
		if workers == 2 {
			second = startBenchWorker(b, s, tokenFile)
		}
		ids := startRuns(&errs, s.url, analyst, graph, warm, starters, input)
		waitRunsEnded(b, s.url, analyst, []string{graph}, ids, 5*time.Minute)
		t0 := time.Now()
		ids = startRuns(&errs, s.url, analyst, graph, perPhase, starters, input)
		rows := waitRunsEnded(b, s.url, analyst, []string{graph}, ids, 10*time.Minute)
		checkCompleted(&errs, ids, rows)
		if errs.count() > 0 {
			b.Fatalf("phase %d (%d workers): %s\nserve's log:\n%s", phase, workers, &errs, s.logTail())
		}
		runs[workers] += perPhase
		took[workers] += lastEnd(rows).Sub(t0).Seconds()
		if workers == 2 {
			second.stop(b)
		}
	}
	b.StopTimer()
	one, two := runs[1]/took[1], runs[2]/took[2]
	b.ReportMetric(two/one, "speedup_x")
	b.ReportMetric(one, "one_worker_runs/s")
	b.ReportMetric(two, "two_workers_runs/s")
}
