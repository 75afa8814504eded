package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// --run-cache bounds the runs serve keeps in memory. With a cache of 10 and 30 runs waiting,
// the SDK's cache holds no more than 10 and pushed runs out to make room (its own metrics
// say so); deciding all 30 replays those from their histories, and every run completes.
// The cache is the process's, made with its first worker: the embedded server's own, so
// the flag must take effect before that server starts (it did not, in a first try).
func TestRunCacheBoundsWaitingRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts trellis serve")
	}
	data := t.TempDir()
	metricsAddr := freeAddr(t)
	s := startKillableServe(t, trellisBinary(t), data, "--run-cache", "10", "--metrics-addr", metricsAddr)
	tok := cliTokens(t, data, "analyst", "reviewer")
	var doc map[string]any
	if err := json.Unmarshal([]byte(loadApproval), &doc); err != nil {
		t.Fatal(err)
	}
	graph := s.publishGraph(t, tok["analyst"], "Cached", doc)
	const runs = 30
	var ids []string
	for i := range runs {
		ids = append(ids, s.startRun(t, tok["analyst"], graph, map[string]any{"n": i, "group": "reviewers"})) // the dev user reviewer's
	}
	var tasks []any
	waitUntil(t, fmt.Sprintf("%d tasks open", runs), func() (bool, string) {
		code, out := s.get(t, tok["reviewer"], "/tasks?state=open&limit=100")
		tasks, _ = out.([]any)
		return code == http.StatusOK && len(tasks) == runs, fmt.Sprintf("%d: %d tasks", code, len(tasks))
	})

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	size, evicted := metricValues(string(raw), "temporal_sticky_cache_size"), metricValues(string(raw), "temporal_sticky_cache_total_forced_eviction_total")
	if len(size) == 0 || len(evicted) == 0 {
		t.Fatalf("metrics lack the SDK's cache figures:\n%s", grepLines(string(raw), "sticky"))
	}
	for _, v := range size {
		if v > 10 {
			t.Errorf("the workflow cache holds %v runs, more than --run-cache 10", v)
		}
	}
	if sum(evicted) == 0 {
		t.Errorf("no run was pushed out of a cache of 10 with %d waiting", runs)
	}

	for _, task := range tasks {
		id := task.(map[string]any)["id"]
		s.must(t, tok["reviewer"], http.MethodPost, fmt.Sprintf("/tasks/%v/decision", id), map[string]any{"outcome": "approve"}, http.StatusOK)
	}
	for _, id := range ids {
		if run := s.waitEnded(t, tok["analyst"], id); run["status"] != "completed" {
			t.Errorf("run %s: %v", id, run)
		}
	}
}

// metricValues are the values of every sample of a metric in Prometheus's text format.
func metricValues(body, name string) []float64 {
	var out []float64
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
			f := strings.Fields(line)
			if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

func sum(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}
