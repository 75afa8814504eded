package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"

	"trellis/engine"
	"trellis/templates"
)

// synthRunView is a completed run of n nodes as the run page sees it: the timeline from a
// synthesized history and the state the engine's query would give.
func synthRunView(tb testing.TB, n int, node string) *runView {
	tb.Helper()
	_, events := synthHistory(tb, n)
	tl, err := engine.BuildTimeline(events, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &runView{tl: tl, run: synthRun(tl), now: *tl.EndedAt, view: ganttView{Node: node}, graphName: "Synth", latest: 4}
}

// synthRun is the state of a completed run with the timeline's nodes.
func synthRun(tl *engine.Timeline) *engine.Run {
	run := &engine.Run{RunID: tl.RunID, Graph: tl.GraphID, Version: tl.Version, Status: engine.RunCompleted,
		Input: tl.Input, Output: map[string]any{"ok": true}, StartedAt: tl.StartedAt, EndedAt: tl.EndedAt,
		Nodes: map[string]engine.NodeState{}}
	for _, e := range tl.Entries {
		ns := run.Nodes[e.Node]
		ns.Status, ns.Attempts = engine.NodeCompleted, max(ns.Attempts, e.Attempt)
		if ns.StartedAt == nil {
			ns.StartedAt = e.StartedAt
		}
		ns.EndedAt = e.EndedAt
		run.Nodes[e.Node] = ns
	}
	return run
}

func renderString(tb testing.TB, c templates.Page) string {
	tb.Helper()
	var b bytes.Buffer
	ctx := templates.WithViewer(context.Background(), &templates.Viewer{Name: "dev", Roles: []string{"developer"}})
	if err := templates.Layout(c).Render(ctx, &b); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// TestRunPageOf500Nodes draws the page of a 500-node run: a row per node, the retried
// attempts with their error, a critical path, and the selected node's inspector.
func TestRunPageOf500Nodes(t *testing.T) {
	rv := synthRunView(t, 500, "n022")
	live := rv.live(true, true, false)
	if got := len(live.Timeline.Rows); got != 500 {
		t.Fatalf("timeline rows = %d, want 500", got)
	}
	crit := 0
	for _, r := range live.Timeline.Rows {
		if r.Critical {
			crit++
		}
	}
	// The run ends with the last layer; the path runs back through one node a layer.
	if crit != 50 {
		t.Errorf("critical path has %d nodes, want 50 (one a layer)", crit)
	}
	if live.CanCancel || !live.CanRerun || live.Polling {
		t.Errorf("a completed run: cancel %v, rerun %v, polling %v", live.CanCancel, live.CanRerun, live.Polling)
	}
	if len(live.Failures) == 0 || live.Failures[0].Node != "n000" || live.Failures[0].Error.Type != "HTTPStatus" {
		t.Errorf("failures = %+v, want the retried n000 first", live.Failures)
	}
	if live.Inspector.Node != "n022" || live.Inspector.Attempts != 2 || len(live.Inspector.Rows) != 2 ||
		live.Inspector.Rows[0].Error == nil || live.Inspector.Rows[1].Status != engine.NodeCompleted {
		t.Errorf("inspector of n022 = %+v", live.Inspector)
	}
	if !strings.Contains(live.Inspector.Input, `"n": 7`) {
		t.Errorf("inspector input = %q, want the scope with input.n", live.Inspector.Input)
	}
	page := renderString(t, templates.Page{Title: "run", Body: templates.RunShow(templates.RunShowProps{Live: live, IO: rv.io()})})
	for _, want := range []string{`data-testid="tl-row-n499"`, `data-testid="node-n499"`, `class="gnode gnode-kind-http status-completed is-selected"`,
		"Compare with the latest (v4)", `data-testid="run-failure-n022-1"`, `tl-critical`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

// BenchmarkTimeline500 is the server's time to build the timeline of a completed 500-node
// run from its history and draw it (build_ms: history to layout; render_ms: SVG).
func BenchmarkTimeline500(b *testing.B) {
	_, events := synthHistory(b, 500)
	var build, render time.Duration
	var buf bytes.Buffer
	for b.Loop() {
		t0 := time.Now()
		tl, err := engine.BuildTimeline(events, nil)
		if err != nil {
			b.Fatal(err)
		}
		rv := &runView{tl: tl, now: *tl.EndedAt}
		props := buildGantt(ganttInput{tl: tl, statuses: rv.nodeStatuses(), now: rv.now,
			link: func(v ganttView) templates.RunLink { return templates.RunLink{Page: runShowURL(tl.RunID, v)} }})
		t1 := time.Now()
		buf.Reset()
		if err := templates.Timeline(props).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
		build += t1.Sub(t0)
		render += time.Since(t1)
	}
	b.ReportMetric(float64(build.Microseconds())/1000/float64(b.N), "build_ms")
	b.ReportMetric(float64(render.Microseconds())/1000/float64(b.N), "render_ms")
	b.ReportMetric(float64(buf.Len())/1024, "svg_kb")
}

// BenchmarkRunPage500 is the server's time for the whole page of that run, with a node
// selected: the timeline from history, the view and the HTML.
func BenchmarkRunPage500(b *testing.B) {
	_, events := synthHistory(b, 500)
	var build, render time.Duration
	var size int
	ctx := templates.WithViewer(context.Background(), &templates.Viewer{Name: "dev", Roles: []string{"developer", "analyst"}})
	var buf bytes.Buffer
	for b.Loop() {
		t0 := time.Now()
		tl, err := engine.BuildTimeline(events, nil)
		if err != nil {
			b.Fatal(err)
		}
		rv := &runView{tl: tl, run: synthRun(tl), now: *tl.EndedAt, view: ganttView{Node: "n250"}, graphName: "Synth", latest: 4}
		props := templates.RunShowProps{Live: rv.live(true, true, false), IO: rv.io()}
		t1 := time.Now()
		buf.Reset()
		if err := templates.Layout(templates.Page{Title: "run", Body: templates.RunShow(props)}).Render(ctx, &buf); err != nil {
			b.Fatal(err)
		}
		build += t1.Sub(t0)
		render += time.Since(t1)
		size = buf.Len()
	}
	b.ReportMetric(float64(build.Microseconds())/1000/float64(b.N), "build_ms")
	b.ReportMetric(float64(render.Microseconds())/1000/float64(b.N), "render_ms")
	b.ReportMetric(float64(size)/1024, "html_kb")
}

// runningView is the 500-node run still going: the nodes before upTo have run (completed),
// the others are pending.
func runningView(tb testing.TB, events []*historypb.HistoryEvent, upTo int) *runView {
	tl, err := engine.BuildTimeline(events, nil)
	if err != nil {
		tb.Fatal(err)
	}
	run := synthRun(tl)
	keep := map[string]bool{}
	for i := range upTo {
		keep[fmt.Sprintf("n%03d", i)] = true
	}
	var entries []engine.TimelineEntry
	for _, e := range tl.Entries {
		if keep[e.Node] {
			entries = append(entries, e)
		}
	}
	for id := range run.Nodes {
		if !keep[id] {
			delete(run.Nodes, id)
		}
	}
	now := *tl.EndedAt
	tl.Entries, tl.EndedAt, tl.Status = entries, nil, engine.RunRunning
	run.Status, run.EndedAt, run.Output = engine.RunRunning, nil, nil
	return &runView{tl: tl, run: run, now: now, graphName: "Synth", latest: 4}
}

// BenchmarkRunPage is what the page of a running 500-node run sends the browser: poll_bytes
// is the #run-live fragment that polling re-sent every 2 s before the page had events;
// update_bytes is the event that tells of one node's change now (what a browser receives,
// framing included). The unit's doubled "bytes" makes make bench print
// run_page_poll_bytes and run_page_update_bytes.
func BenchmarkRunPage(b *testing.B) {
	_, events := synthHistory(b, 500)
	ctx := templates.WithViewer(context.Background(), &templates.Viewer{Name: "dev", Roles: []string{"developer", "analyst"}})
	var poll, update int
	for b.Loop() {
		before, after := runningView(b, events, 250), runningView(b, events, 251)
		var buf bytes.Buffer
		if err := templates.RunLive(before.live(true, true, false)).Render(ctx, &buf); err != nil {
			b.Fatal(err)
		}
		poll = buf.Len()
		ev, changed := runLiveDiff(newRunLiveState(before), newRunLiveState(after))
		if !changed || ev.name != "run" || !strings.Contains(string(ev.data), `"n250"`) {
			b.Fatalf("event %s %s", ev.name, ev.data)
		}
		rec := httptest.NewRecorder()
		if err := writeEvent(rec, ev); err != nil {
			b.Fatal(err)
		}
		update = rec.Body.Len()
	}
	b.ReportMetric(float64(poll), "poll_bytes_bytes")
	b.ReportMetric(float64(update), "update_bytes_bytes")
}
