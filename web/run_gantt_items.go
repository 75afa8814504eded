package web

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// A map node's items are steps of their own in its run's history: an activity, task or
// child run per item, under the ids NODE.INDEX (and RUN.NODE.INDEX for child runs). The
// timeline draws them as rows under their map's row, in item order. Past ganttItemsMax items
// of one map they collapse into one summary row, a bar split by status with the counts,
// which keeps the failed and the slowest items as rows of their own; the summary's link
// (?items=NODE) expands them all, and again collapses them. A map of more than 1,000 items
// runs them in batch child runs, so a run's history never holds more than 1,000 of them.
const (
	ganttItemsMax  = 200
	ganttItemsKept = 10 // failed and slowest items kept as rows when collapsed, each
)

// ganttItem is one item of a map: its entries and its span and status over them.
type ganttItem struct {
	index      int
	entries    []int
	start, end time.Time
	status     string
	timed      bool
}

// splitItems takes the entries of map items out of the timeline: base is the timeline
// without them, items each map node's items in index order.
func splitItems(tl *engine.Timeline, now time.Time) (base *engine.Timeline, items map[string][]ganttItem) {
	maps := map[string]bool{}
	for _, n := range tl.Definition.Nodes {
		if n.Kind == designer.KindMap {
			maps[n.ID] = true
		}
	}
	if len(maps) == 0 {
		return tl, nil
	}
	cp := *tl
	cp.Entries = make([]engine.TimelineEntry, 0, len(tl.Entries))
	byIndex := map[string]map[int]*ganttItem{}
	for i := range tl.Entries {
		e := &tl.Entries[i]
		node, index, ok := entryItem(e, tl.RunID, maps)
		if !ok {
			cp.Entries = append(cp.Entries, *e)
			continue
		}
		if byIndex[node] == nil {
			byIndex[node] = map[int]*ganttItem{}
		}
		it := byIndex[node][index]
		if it == nil {
			it = &ganttItem{index: index}
			byIndex[node][index] = it
		}
		it.entries = append(it.entries, i)
		it.status = e.Status
		if sched, _, end, _, ok := entryTimes(e, now); ok {
			if !it.timed || sched.Before(it.start) {
				it.start = sched
			}
			if !it.timed || end.After(it.end) {
				it.end = end
			}
			it.timed = true
		}
	}
	items = map[string][]ganttItem{}
	for node, m := range byIndex {
		list := make([]ganttItem, 0, len(m))
		for _, it := range m {
			list = append(list, *it)
		}
		slices.SortFunc(list, func(a, b ganttItem) int { return a.index - b.index })
		items[node] = list
	}
	return &cp, items
}

// entryItem says which map node's item an entry is a step of.
func entryItem(e *engine.TimelineEntry, runID string, maps map[string]bool) (string, int, bool) {
	id := e.Node
	if e.Step == engine.StepChild && strings.HasPrefix(e.ChildRun, runID+".") {
		id = strings.TrimPrefix(e.ChildRun, runID+".")
	}
	node, index, ok := store.MapItemOf(id)
	if !ok || !maps[node] {
		return "", 0, false
	}
	return node, index, true
}

// itemRows are the rows under map node's row, from y on: every item, or past ganttItemsMax
// (unless expanded) the summary's link and the items kept. The summary's bar goes on the
// map's own row, which the live page redraws as the map's progress changes.
func itemRows(in ganttInput, f ganttFrame, mapRow *templates.TimelineRow, items []ganttItem, y float64) []templates.TimelineRow {
	node := mapRow.Node
	expanded := in.view.Items == node
	shown := items
	var rows []templates.TimelineRow
	if len(items) > ganttItemsMax {
		sum := itemSummary(in, f, node, items, expanded, y)
		for _, bar := range sum.Bars {
			bar.Y = mapRow.Y + 4
			mapRow.Bars = append(mapRow.Bars, bar)
		}
		mapRow.Title += "; " + sum.Title
		sum.Bars = nil
		rows = append(rows, sum)
		y += ganttRowHeight
		if !expanded {
			shown = keptItems(items)
		}
	}
	for _, it := range shown {
		id := fmt.Sprintf("%s.%d", node, it.index)
		row := templates.TimelineRow{Node: id, Label: fmt.Sprintf("%s · item %d", node, it.index+1), Status: it.status, Y: y,
			Selected: id == in.view.Node, Select: in.link(ganttView{From: in.view.From, To: in.view.To, Node: id, Items: in.view.Items})}
		if len(it.entries) > 0 {
			row.Kind = in.tl.Entries[it.entries[0]].Kind
		}
		row.Title = fmt.Sprintf("item %d of %s: %s", it.index+1, node, runStatusText(it.status))
		if it.timed {
			row.Title += ", " + runDuration(it.end.Sub(it.start))
		}
		ganttBars(&row, in, f, it.entries)
		rows = append(rows, row)
		y += ganttRowHeight
	}
	return rows
}

// keptItems are the items a collapsed map still shows: the first failed ones and the
// slowest of the rest, in item order.
func keptItems(items []ganttItem) []ganttItem {
	var failed, rest []ganttItem
	for _, it := range items {
		if it.status == engine.NodeFailed && len(failed) < ganttItemsKept {
			failed = append(failed, it)
		} else if it.timed {
			rest = append(rest, it)
		}
	}
	slices.SortStableFunc(rest, func(a, b ganttItem) int { return cmp.Compare(b.end.Sub(b.start), a.end.Sub(a.start)) })
	kept := append(failed, rest[:min(len(rest), ganttItemsKept)]...)
	slices.SortFunc(kept, func(a, b ganttItem) int { return a.index - b.index })
	return kept
}

// itemStatuses orders the statuses a summary counts.
var itemStatuses = []string{engine.NodeCompleted, engine.NodeFailed, engine.NodeRunning, engine.NodeWaiting,
	engine.NodePending, engine.NodeCancelled}

// itemSummary is the row of a map's items together: one bar over their time, split in
// parts by status as their counts go (itemRows moves it to the map's row), and a link that
// expands or collapses them.
func itemSummary(in ganttInput, f ganttFrame, node string, items []ganttItem, expanded bool, y float64) templates.TimelineRow {
	counts := map[string]int{}
	var start, end time.Time
	timed := false
	for _, it := range items {
		counts[it.status]++
		if it.timed {
			if !timed || it.start.Before(start) {
				start = it.start
			}
			if !timed || it.end.After(end) {
				end = it.end
			}
			timed = true
		}
	}
	var parts []string
	for _, s := range itemStatuses {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], runStatusText(s)))
		}
	}
	words := fmt.Sprintf("%d items of %s: %s", len(items), node, strings.Join(parts, ", "))
	row := templates.TimelineRow{Node: node + ".items", Status: itemsStatus(counts), Y: y, Title: words}
	link := ganttView{From: in.view.From, To: in.view.To, Node: in.view.Node, Items: node}
	row.Label = fmt.Sprintf("%s · %d items (show all)", node, len(items))
	if expanded {
		link.Items = ""
		row.Label = fmt.Sprintf("%s · %d items (collapse)", node, len(items))
	}
	row.Select = in.link(link)
	if !timed {
		return row
	}
	x0, x1 := max(f.x(start), 0), min(f.x(end), 100)
	if x1 <= x0 {
		return row
	}
	x := x0
	for _, s := range itemStatuses {
		if counts[s] == 0 {
			continue
		}
		w := (x1 - x0) * float64(counts[s]) / float64(len(items))
		row.Bars = append(row.Bars, templates.TimelineBar{X: x, W: max(w, ganttMinBar), Y: y + 4, H: ganttRowHeight - 8,
			Class: "tl-" + s, Title: words})
		x += w
	}
	return row
}

// itemsStatus is a summary row's status: failed when any item failed, else running while
// any goes, else completed when all did.
func itemsStatus(counts map[string]int) string {
	for _, s := range []string{engine.NodeFailed, engine.NodeRunning, engine.NodeWaiting, engine.NodePending, engine.NodeCancelled} {
		if counts[s] > 0 {
			return s
		}
	}
	return engine.NodeCompleted
}

// addItemSpans stretches each map node's span over its items' steps.
func addItemSpans(spans map[string]nodeSpan, items map[string][]ganttItem) {
	for node, list := range items {
		sp, seen := spans[node]
		for _, it := range list {
			if !it.timed {
				continue
			}
			if !seen || it.start.Before(sp.start) {
				sp.start = it.start
			}
			if !seen || it.end.After(sp.end) {
				sp.end = it.end
			}
			sp.open = sp.open || it.status == engine.NodeRunning || it.status == engine.NodeWaiting
			seen = true
		}
		if seen {
			spans[node] = sp
		}
	}
}
