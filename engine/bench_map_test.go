package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"trellis/designer"
	"trellis/internal/testsvc"
)

// BenchmarkMap10k runs a map over 10,000 items with an inline transform body and reports
// the wall time and the longest history among the run and its batch children, which must
// stay under Temporal's 51,200 events.
func BenchmarkMap10k(b *testing.B) {
	cl := startCluster(b, b.TempDir(), Deps{})
	g := mustGraph(b, mapGraph("0..9999", `{"kind": "transform", "config": {"value": "{ n: item * 2, at: index }"}}`,
		`, "concurrency": 100`))
	var wall time.Duration
	maxEvents := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		id := runToEnd(b, cl, g)
		wall = time.Since(t0)
		b.StopTimer()
		ids := []string{id}
		for k := 0; k*mapBatchSize < 10000; k++ {
			ids = append(ids, fmt.Sprintf("%s.m.batch%d", id, k))
		}
		for _, h := range ids {
			events, _ := historySize(b, cl.c, h)
			maxEvents = max(maxEvents, events)
		}
		b.StartTimer()
	}
	b.ReportMetric(wall.Seconds(), "transform_s")
	b.ReportMetric(float64(maxEvents), "max_history_events")
}

// BenchmarkMapOverhead compares a map of 200 no-op http items at concurrency 20 with 200
// http nodes drawn side by side in one graph, against the same local server: median of
// interleaved pairs.
func BenchmarkMapOverhead(b *testing.B) {
	srv := testsvc.New(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	}))
	b.Cleanup(srv.Close)
	cl := startCluster(b, b.TempDir(), Deps{})
	mapped := mustGraph(b, mapGraph("0..199", `{"kind": "http", "config": {"url": "`+srv.URL+`/{{ index }}"}}`, `, "concurrency": 20`))
	nodes := make([]string, 200)
	for i := range nodes {
		nodes[i] = fmt.Sprintf(`{"id": "h%d", "kind": "http", "config": {"url": "%s/%d"}}`, i, srv.URL, i)
	}
	drawn := mustGraph(b, `{"format": "trellis.graph/v1", "nodes": [`+strings.Join(nodes, ",")+`], "edges": []}`)
	runToEnd(b, cl, mapped)
	runToEnd(b, cl, drawn)
	const pairs = 5
	var mapTimes, drawnTimes []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range pairs {
			t0 := time.Now()
			runToEnd(b, cl, mapped)
			t1 := time.Now()
			runToEnd(b, cl, drawn)
			mapTimes = append(mapTimes, t1.Sub(t0))
			drawnTimes = append(drawnTimes, time.Since(t1))
		}
	}
	b.StopTimer()
	mm, md := median(mapTimes), median(drawnTimes)
	b.ReportMetric(float64(mm.Microseconds())/1000, "map_ms")
	b.ReportMetric(float64(md.Microseconds())/1000, "drawn_ms")
	b.ReportMetric(float64(mm)/float64(md), "ratio_x")
}

// threeTransforms is a loop body of three transforms that counts input.state up by one.
const threeTransforms = `{"format": "trellis.graph/v1", "nodes": [
	{"id": "a", "kind": "transform", "config": {"value": "(input.state ?? 0) + 1"}},
	{"id": "b", "kind": "transform", "config": {"value": "nodes.a.output * 1"}},
	{"id": "c", "kind": "transform", "config": {"value": "nodes.b.output"}}],
  "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
  "output": "nodes.c.output"}`

// BenchmarkLoop100 runs a loop of 100 rounds of a 3-node transform body.
func BenchmarkLoop100(b *testing.B) {
	cl := startCluster(b, b.TempDir(), Deps{Versions: memVersions{"count3@1": mustGraph(b, threeTransforms)}})
	g := mustGraph(b, loopGraph(`{"graph": "count3", "version": 1, "until": "state >= 100", "max_iterations": 100}`))
	var wall time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		id := runToEnd(b, cl, g)
		wall = time.Since(t0)
		b.StopTimer()
		run, err := cl.eng.GetRun(context.Background(), id)
		if err != nil || run.Nodes["l"].Port != designer.PortOut {
			b.Fatalf("loop ended %v: %v", toJSON(run), err)
		}
		b.StartTimer()
	}
	b.ReportMetric(wall.Seconds(), "s")
}
