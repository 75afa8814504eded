package web

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/engine"
	"trellis/templates"
)

// mapTimeline is a run of map node m with n http items, item i taking 100+i ms (and failed
// when fail(i)), then a transform after it.
func mapTimeline(n int, fail func(int) bool) *engine.Timeline {
	g := designer.Graph{Nodes: []designer.Node{{ID: "m", Kind: designer.KindMap}, {ID: "after", Kind: "transform"}},
		Edges: []designer.Edge{{From: "m", To: "after"}}}
	tl := &engine.Timeline{RunID: "run-x", GraphID: "g", Version: 1, Definition: g, Status: engine.RunCompleted,
		StartedAt: t0, EndedAt: at(n + 2000)}
	for i := range n {
		st := engine.NodeCompleted
		if fail(i) {
			st = engine.NodeFailed
		}
		tl.Entries = append(tl.Entries, engine.TimelineEntry{Node: fmt.Sprintf("m.%d", i), Kind: "http", Step: engine.StepActivity,
			Name: "http", Attempt: 1, Status: st, ScheduledAt: at(i), StartedAt: at(i), EndedAt: at(2*i + 100)})
	}
	tl.Entries = append(tl.Entries, engine.TimelineEntry{Node: "after", Step: engine.StepLocal, Name: "transform", Attempt: 1,
		Status: engine.NodeCompleted, ScheduledAt: at(n + 1500), StartedAt: at(n + 1500), EndedAt: at(n + 1600)})
	return tl
}

func rowIDs(p templates.TimelineProps) []string {
	var ids []string
	for _, r := range p.Rows {
		ids = append(ids, r.Node)
	}
	return ids
}

// TestGanttMapItems: up to 200 items of a map are rows under its row, in item order; past
// 200 they collapse into one summary row whose bar is split by status and whose link
// expands them, keeping the failed and the slowest items as rows; expanded, every item is a
// row and the link collapses them again.
func TestGanttMapItems(t *testing.T) {
	statuses := map[string]string{"m": "completed", "after": "completed"}
	few := buildGantt(ganttInput{tl: mapTimeline(3, func(int) bool { return false }), statuses: statuses, now: *at(5000), link: testLink})
	if got := strings.Join(rowIDs(few), " "); got != "m m.0 m.1 m.2 after" {
		t.Fatalf("rows = %s, want the map, its items in order, then after", got)
	}
	if r := few.Rows[2]; r.Label != "m · item 2" || len(r.Bars) != 1 || r.Y != 2*ganttRowHeight {
		t.Fatalf("item row = %+v", r)
	}

	failed := func(i int) bool { return i == 7 || i == 300 }
	tl := mapTimeline(1000, failed)
	p := buildGantt(ganttInput{tl: tl, statuses: statuses, now: *tl.EndedAt, link: testLink})
	ids := rowIDs(p)
	if ids[0] != "m" || ids[1] != "m.items" || ids[len(ids)-1] != "after" {
		t.Fatalf("rows = %v", ids)
	}
	sum, mapRow := p.Rows[1], p.Rows[0]
	if sum.Label != "m · 1000 items (show all)" || sum.Status != engine.NodeFailed ||
		!strings.Contains(sum.Title, "1000 items of m: 998 completed, 2 failed") || sum.Select.Page != "/runs/run-x?items=m" {
		t.Fatalf("summary row = %+v", sum)
	}
	// The summary bar is on the map's own row, which the live page redraws.
	bars := mapRow.Bars
	if len(bars) != 2 || bars[0].Class != "tl-completed" || bars[1].Class != "tl-failed" || bars[1].W >= bars[0].W ||
		bars[0].Y != mapRow.Y+4 || !strings.Contains(mapRow.Title, "998 completed") || len(sum.Bars) != 0 {
		t.Fatalf("map row = %+v, want a completed part and a smaller failed one", mapRow)
	}
	// The two failed items and the ten slowest (the last ten) are kept, in item order.
	want := []string{"m.7", "m.300"}
	for i := 990; i < 1000; i++ {
		want = append(want, fmt.Sprintf("m.%d", i))
	}
	if got := strings.Join(ids[2:len(ids)-1], " "); got != strings.Join(want, " ") {
		t.Fatalf("kept items = %s, want %s", got, strings.Join(want, " "))
	}
	if p.Height != float64(len(p.Rows))*ganttRowHeight+2 {
		t.Fatalf("height %v for %d rows", p.Height, len(p.Rows))
	}

	open := buildGantt(ganttInput{tl: tl, statuses: statuses, now: *tl.EndedAt, view: ganttView{Items: "m"}, link: testLink})
	if len(open.Rows) != 1+1+1000+1 || open.Rows[1].Label != "m · 1000 items (collapse)" || open.Rows[1].Select.Page != "/runs/run-x" {
		t.Fatalf("expanded: %d rows, summary %+v", len(open.Rows), open.Rows[1])
	}
	if open.Rows[2].Select.Page != "/runs/run-x?items=m&node=m.0" {
		t.Fatalf("an expanded item's link %q keeps the expansion", open.Rows[2].Select.Page)
	}
}

// TestGanttMapItemsAtScale draws a 10,000-item map collapsed and renders the page's part of
// it: a few dozen rows, however many items. How long it takes is in make bench, not here.
func TestGanttMapItemsAtScale(t *testing.T) {
	tl := mapTimeline(10000, func(i int) bool { return i%1000 == 0 })
	p := buildGantt(ganttInput{tl: tl, statuses: map[string]string{}, now: *tl.EndedAt, link: testLink})
	if len(p.Rows) != 1+1+2*ganttItemsKept+1 {
		t.Fatalf("%d rows for a collapsed map of 10,000 items, want %d", len(p.Rows), 3+2*ganttItemsKept)
	}
	var buf bytes.Buffer
	if err := templates.Timeline(p).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `data-testid="tl-row-m.items"`) || buf.Len() > 64<<10 {
		t.Fatalf("rendered %d bytes; want the summary row in under 64 KiB", buf.Len())
	}
}

// BenchmarkGanttMap10k builds and renders the timeline of a run whose map has 10,000 items
// (make bench: gantt_map10k, ms/op).
func BenchmarkGanttMap10k(b *testing.B) {
	tl := mapTimeline(10000, func(i int) bool { return i%1000 == 0 })
	var buf bytes.Buffer
	for range b.N {
		buf.Reset()
		p := buildGantt(ganttInput{tl: tl, statuses: map[string]string{}, now: *tl.EndedAt, link: testLink})
		if err := templates.Timeline(p).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
}
