package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// chainGraph is n http nodes in a row, each calling url.
func chainGraph(tb testing.TB, n int, url string) string {
	var nodes, edges []string
	for i := range n {
		nodes = append(nodes, fmt.Sprintf(`{"id": "n%d", "kind": "http", "config": {"url": "%s/n%d"}}`, i, url, i))
		if i > 0 {
			edges = append(edges, fmt.Sprintf(`{"from": "n%d", "to": "n%d"}`, i-1, i))
		}
	}
	return `{"nodes": [` + strings.Join(nodes, ",") + `], "edges": [` + strings.Join(edges, ",") + `]}`
}

func okServer(tb testing.TB) *httptest.Server {
	s := testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok": true}`)
	}))
	tb.Cleanup(s.Close)
	return s
}

// BenchmarkRewind: rewind_reuse_ratio is the wall time of a rewind from the last node of a
// 20-node http chain (start to end) over that of the original run, median of 5 pairs.
func BenchmarkRewind(b *testing.B) {
	ctx := context.Background()
	cl := startCluster(b, b.TempDir(), Deps{})
	g := mustGraph(b, chainGraph(b, 20, okServer(b).URL))
	waitEnd := func(id string) {
		var out any
		if err := cl.c.GetWorkflow(ctx, id, "").Get(ctx, &out); err != nil {
			b.Fatalf("run %s: %v", id, err)
		}
	}
	runToEnd(b, cl, g) // warm up
	var ratios []time.Duration
	var orig, rew []time.Duration
	for range 5 {
		t0 := time.Now()
		id := runToEnd(b, cl, g)
		o := time.Since(t0)
		t1 := time.Now()
		nid, _, err := cl.eng.Rewind(ctx, RewindRequest{RunID: id, From: "n19", By: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		waitEnd(nid)
		r := time.Since(t1)
		orig, rew = append(orig, o), append(rew, r)
		ratios = append(ratios, time.Duration(float64(r)/float64(o)*1e6))
	}
	b.ReportMetric(percentileMS(ratios, 50), "reuse_ratio_x")
	b.ReportMetric(percentileMS(orig, 50), "original_ms")
	b.ReportMetric(percentileMS(rew, 50), "rewound_ms")
}

// BenchmarkIncidentAction: incident_action_p99 is the time from asking a run to skip its
// held node until the run has recorded it, over 100 incidents.
func BenchmarkIncidentAction(b *testing.B) {
	ctx := context.Background()
	cl := startCluster(b, b.TempDir(), Deps{})
	down := downServer(b)
	g := mustGraph(b, `{"nodes": [{"id": "call", "kind": "http", "on_error": "hold", "retry": {"max_attempts": 1},
		"config": {"url": "`+down.URL+`/x"}}], "edges": []}`)
	const n = 100
	ids := make([]string, n)
	for i := range ids {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "bench", Version: 1, Definition: g, StartedBy: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	for _, id := range ids {
		waitRun(b, cl.eng, id, "held", isHeld)
	}
	took := make([]time.Duration, 0, n)
	for i, id := range ids {
		req := IncidentRequest{Node: "call", Action: ActionSkip, Output: map[string]any{"i": i}, By: "bench"}
		t0 := time.Now()
		if _, err := cl.eng.ActOnIncident(ctx, id, req); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	b.ReportMetric(percentileMS(took, 99), "p99_ms")
	b.ReportMetric(percentileMS(took, 50), "p50_ms")
}
