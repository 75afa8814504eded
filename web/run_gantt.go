package web

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"trellis/engine"
	"trellis/templates"
)

// Geometry of the timeline: rows in pixels (runs.css gives the name column the same row
// height), bars in percent of the plot's width.
const (
	ganttRowHeight = 22.0
	ganttMinBar    = 0.15
	ganttBarLabel  = 2.5 // the narrowest bar, in percent, that shows its attempt number
	ganttLabelMax  = 40
	ganttMinWindow = 10 * time.Millisecond
	ganttMaxLanes  = 3
)

// ganttView is what the run page asks of the timeline: the time window shown (offsets from
// the run's start; zero To means the whole run) and the selected node.
type ganttView struct {
	From, To time.Duration
	Node     string
	// Items is the map node whose items are all drawn, past ganttItemsMax (run_gantt_items.go).
	Items string
}

// ganttInput is what building the timeline drawing needs.
type ganttInput struct {
	tl       *engine.Timeline
	statuses map[string]string
	now      time.Time
	view     ganttView
	// link makes the URL of the run page with another view.
	link func(v ganttView) templates.RunLink
}

// nodeSpan is when a node was busy: from its first step's scheduling to its last step's end.
type nodeSpan struct {
	start, end time.Time
	open       bool
}

// entryTimes are an entry's scheduled, started and ended times with the gaps filled: a step
// still open ends now. ok is false for an entry with no time at all.
func entryTimes(e *engine.TimelineEntry, now time.Time) (sched, start, end time.Time, open, ok bool) {
	switch {
	case e.ScheduledAt != nil:
		sched = *e.ScheduledAt
	case e.StartedAt != nil:
		sched = *e.StartedAt
	case e.EndedAt != nil:
		sched = *e.EndedAt
	default:
		return sched, start, end, false, false
	}
	start = sched
	if e.StartedAt != nil {
		start = *e.StartedAt
	}
	switch {
	case e.EndedAt != nil:
		end = *e.EndedAt
	case e.Status == engine.NodeRunning || e.Status == engine.NodePending || e.Status == engine.NodeWaiting:
		end, open = now, true
	default:
		end = start
	}
	if start.Before(sched) {
		start = sched
	}
	if end.Before(start) {
		end = start
	}
	return sched, start, end, open, true
}

// nodeSpans is each node's span over its entries.
func nodeSpans(tl *engine.Timeline, now time.Time) map[string]nodeSpan {
	spans := map[string]nodeSpan{}
	for i := range tl.Entries {
		e := &tl.Entries[i]
		s, _, end, open, ok := entryTimes(e, now)
		if !ok {
			continue
		}
		sp, seen := spans[e.Node]
		if !seen || s.Before(sp.start) {
			sp.start = s
		}
		if !seen || end.After(sp.end) {
			sp.end = end
		}
		sp.open = sp.open || open
		spans[e.Node] = sp
	}
	return spans
}

// criticalPath is the chain of nodes that decided when the run ended: from the node that
// ended last, back through the predecessor that ended last before each node began, to a
// node with none.
func criticalPath(tl *engine.Timeline, spans map[string]nodeSpan) map[string]bool {
	preds := map[string][]string{}
	for _, e := range tl.Definition.Edges {
		preds[e.To] = append(preds[e.To], e.From)
	}
	var last string
	for _, n := range tl.Definition.Nodes {
		sp, ok := spans[n.ID]
		if ok && (last == "" || sp.end.After(spans[last].end)) {
			last = n.ID
		}
	}
	crit := map[string]bool{}
	for cur := last; cur != "" && !crit[cur]; {
		crit[cur] = true
		start := spans[cur].start
		next := ""
		for _, p := range preds[cur] {
			sp, ok := spans[p]
			// A node starts in the workflow task after its inputs ended; allow for that.
			if !ok || sp.end.After(start.Add(time.Second)) {
				continue
			}
			if next == "" || sp.end.After(spans[next].end) {
				next = p
			}
		}
		cur = next
	}
	return crit
}

// buildGantt lays out the timeline of a run: rows in the order nodes began (nodes that have
// not run last, in document order), one bar per entry within the time window.
func buildGantt(in ganttInput) templates.TimelineProps {
	full := in.tl
	tl, items := splitItems(in.tl, in.now)
	in.tl = tl
	agents, taken := splitAgents(tl)
	spans := nodeSpans(tl, in.now)
	addItemSpans(spans, items)
	addAgentSpans(spans, tl, agents, in.now)
	f := newGanttFrame(in, spans)
	p := templates.TimelineProps{RowHeight: ganttRowHeight, Zoomed: f.zoomed}
	if f.live {
		p.Horizon = f.to.Milliseconds()
	}
	p.Window = fmt.Sprintf("%s – %s of %s", ganttOffset(f.from), ganttOffset(f.to), runDuration(f.total))
	if !f.zoomed {
		p.Window = "Whole run: " + runDuration(f.total)
	}
	for _, tk := range ganttTicks(f.from, f.to) {
		p.Ticks = append(p.Ticks, templates.TimelineTick{X: float64(tk-f.from) / float64(f.to-f.from) * 100, Label: ganttOffset(tk)})
	}
	if tl.EndedAt == nil {
		if nx := f.x(in.now); nx >= 0 && nx <= 100 {
			p.NowX, p.ShowNow = nx, true
		}
	}

	crit := criticalPath(tl, spans)
	// Before the run ends no path has decided when it ends.
	p.HasCritical = len(crit) > 1 && tl.EndedAt != nil
	byNode := map[string][]int{}
	for i := range tl.Entries {
		if !taken[i] {
			byNode[tl.Entries[i].Node] = append(byNode[tl.Entries[i].Node], i)
		}
	}
	y := 0.0
	for _, n := range ganttRowNodes(tl, spans, f.live, taken) {
		row := templates.TimelineRow{Node: n.id, Label: templates.ClipText(n.label, ganttLabelMax), Kind: n.kind, Status: in.statuses[n.id],
			Y: y, Critical: p.HasCritical && crit[n.id], Selected: n.id == in.view.Node,
			Select: in.link(ganttView{From: in.view.From, To: in.view.To, Node: n.id, Items: in.view.Items})}
		if row.Status == "" {
			row.Status = engine.NodePending
		}
		row.Title = fmt.Sprintf("%s (%s): %s", n.label, n.id, runStatusText(row.Status))
		if sp, ok := spans[n.id]; ok {
			row.Title += ", " + runDuration(sp.end.Sub(sp.start))
		}
		ganttBars(&row, in, f, byNode[n.id])
		p.Rows = append(p.Rows, row)
		y += ganttRowHeight
		if list := items[n.id]; len(list) > 0 {
			withItems := in
			withItems.tl = full
			rows := itemRows(withItems, f, &p.Rows[len(p.Rows)-1], list, y)
			p.Rows = append(p.Rows, rows...)
			y += float64(len(rows)) * ganttRowHeight
		}
		if a := agents[n.id]; a != nil && len(a.rows) > 0 {
			rows := agentRows(in, f, &p.Rows[len(p.Rows)-1], a, y)
			p.Rows = append(p.Rows, rows...)
			y += float64(len(rows)) * ganttRowHeight
		}
	}
	p.Height = y + 2
	p.Pauses = ganttPauses(tl, f, in.now)
	ganttZoomLinks(&p, in, f)
	return p
}

// ganttPauses shades the times an operator held the run paused and says each in words.
func ganttPauses(tl *engine.Timeline, f ganttFrame, now time.Time) []templates.TimelinePause {
	var out []templates.TimelinePause
	for _, ps := range tl.Pauses {
		end, text := now, "Paused "+ganttOffset(ps.From.Sub(tl.StartedAt))+" into the run by "+ps.By
		if ps.Comment != "" {
			text += " (" + ps.Comment + ")"
		}
		switch {
		case ps.To != nil:
			end = *ps.To
			text += "; resumed " + runDuration(ps.To.Sub(ps.From)) + " later by " + ps.ResumedBy
			if ps.ResumeComment != "" {
				text += " (" + ps.ResumeComment + ")"
			}
		case tl.EndedAt != nil:
			end = *tl.EndedAt
			text += "; still paused when the run ended"
		default:
			text += "; still paused"
		}
		x0, x1 := max(f.x(ps.From), 0), min(f.x(end), 100)
		out = append(out, templates.TimelinePause{X: x0, W: max(x1-x0, 0.3), Shown: x1 >= 0 && x0 <= 100, Text: text})
	}
	return out
}

// ganttFrame is the part of a run a timeline draws: from and to are offsets from the run's
// start, and x maps a time to a percentage of the width.
type ganttFrame struct {
	start           time.Time
	from, to, total time.Duration
	zoomed, live    bool
}

// newGanttFrame is the window of in.view, clamped to the run (or the whole run), which a
// run still going stretches to a horizon ahead of now.
func newGanttFrame(in ganttInput, spans map[string]nodeSpan) ganttFrame {
	tl := in.tl
	end := in.now
	if tl.EndedAt != nil {
		end = *tl.EndedAt
	}
	for _, sp := range spans {
		if sp.end.After(end) {
			end = sp.end
		}
	}
	f := ganttFrame{start: tl.StartedAt, total: max(end.Sub(tl.StartedAt), ganttMinWindow)}
	f.from, f.to = clampWindow(in.view.From, in.view.To, f.total)
	f.zoomed = f.from > 0 || f.to < f.total
	f.live = tl.EndedAt == nil && !f.zoomed
	if f.live {
		f.to = ganttHorizon(f.total)
	}
	return f
}

func (f ganttFrame) x(t time.Time) float64 {
	return float64(t.Sub(f.start)-f.from) / float64(f.to-f.from) * 100
}

// ganttRowNode is a timeline row's node: doc is its place in the definition.
type ganttRowNode struct {
	id, label, kind string
	doc             int
}

// ganttRowNodes are the rows' nodes: the definition's, then any the entries name that it
// lacks (but those taken, an agent's calls), ordered by when they started once the run has
// ended.
func ganttRowNodes(tl *engine.Timeline, spans map[string]nodeSpan, live bool, taken map[int]bool) []ganttRowNode {
	var nodes []ganttRowNode
	known := map[string]bool{}
	for i, n := range tl.Definition.Nodes {
		label := n.Label
		if label == "" {
			label = n.ID
		}
		nodes = append(nodes, ganttRowNode{id: n.ID, label: label, kind: n.Kind, doc: i})
		known[n.ID] = true
	}
	for i := range tl.Entries {
		if id := tl.Entries[i].Node; !known[id] && !taken[i] {
			known[id] = true
			nodes = append(nodes, ganttRowNode{id: id, label: id, kind: tl.Entries[i].Kind, doc: len(nodes)})
		}
	}
	// While the run goes, rows keep the document's order, so that a row's place does not
	// move and the live page can update it alone.
	sort.SliceStable(nodes, func(a, b int) bool {
		if live {
			return nodes[a].doc < nodes[b].doc
		}
		sa, oka := spans[nodes[a].id]
		sb, okb := spans[nodes[b].id]
		switch {
		case oka && okb && !sa.start.Equal(sb.start):
			return sa.start.Before(sb.start)
		case oka != okb:
			return oka
		}
		return nodes[a].doc < nodes[b].doc
	})
	return nodes
}

// ganttBars draws the steps (entries) of row's node that fall in the frame. Steps that
// overlap (an approval's wait for a person and its due timer) share the row in lanes.
func ganttBars(row *templates.TimelineRow, in ganttInput, f ganttFrame, entries []int) {
	var lanes []time.Time
	var laneOf []int
	for _, i := range entries {
		e := &in.tl.Entries[i]
		sched, st, en, open, ok := entryTimes(e, in.now)
		if !ok || en.Sub(f.start) < f.from || sched.Sub(f.start) > f.to {
			continue
		}
		bar := templates.TimelineBar{Class: ganttBarClass(e, row.Critical), Title: ganttBarTitle(row.Node, e, sched, st, en, open), Open: open}
		x0, x1, xs := f.x(sched), f.x(en), f.x(st)
		lo, hi := 0.0, 100.0
		x0, x1, xs = math.Max(x0, lo), math.Min(x1, hi), math.Min(math.Max(xs, lo), hi)
		if xs > x0 {
			bar.QueueX, bar.QueueW = x0, xs-x0
		}
		bar.X, bar.W = math.Min(xs, hi-ganttMinBar), math.Max(x1-xs, ganttMinBar)
		if (e.Attempt > 1 || len(entries) > 1) && e.Step == engine.StepActivity && bar.W >= ganttBarLabel {
			bar.Label = fmt.Sprintf("#%d", e.Attempt)
		}
		lane := slices.IndexFunc(lanes, func(end time.Time) bool { return !end.After(sched) })
		switch {
		case lane < 0 && len(lanes) < ganttMaxLanes:
			lane = len(lanes)
			lanes = append(lanes, en)
		case lane < 0:
			lane = ganttMaxLanes - 1
			lanes[lane] = maxTime(lanes[lane], en)
		default:
			lanes[lane] = en
		}
		laneOf = append(laneOf, lane)
		row.Bars = append(row.Bars, bar)
	}
	h := (ganttRowHeight - 8) / float64(max(len(lanes), 1))
	for k := range row.Bars {
		row.Bars[k].Y = row.Y + 4 + float64(laneOf[k])*h
		row.Bars[k].H = h - 1
		if len(lanes) == 1 {
			row.Bars[k].H = h
		}
	}
}

// ganttZoomLinks sets the links that zoom the frame in and out and move it along.
func ganttZoomLinks(p *templates.TimelineProps, in ganttInput, f ganttFrame) {
	from, to, total := f.from, f.to, f.total
	w := to - from
	node := in.view.Node
	if w/2 >= ganttMinWindow {
		c := from + w/2
		p.ZoomIn = in.link(ganttView{From: c - w/4, To: c + w/4, Node: node, Items: in.view.Items})
	}
	if f.zoomed {
		c := from + w/2
		fr, t := clampWindow(c-w, c+w, total)
		p.ZoomOut = in.link(ganttView{From: fr, To: t, Node: node, Items: in.view.Items})
		p.Reset = in.link(ganttView{Node: node, Items: in.view.Items})
	}
	if from > 0 {
		fr := max(from-w/2, 0)
		p.Earlier = in.link(ganttView{From: fr, To: fr + w, Node: node, Items: in.view.Items})
	}
	if to < total {
		t := min(to+w/2, total)
		p.Later = in.link(ganttView{From: t - w, To: t, Node: node, Items: in.view.Items})
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// clampWindow fits a window into [0, total]; a zero or empty window is the whole run.
// ganttHorizon is the end of a running run's timeline: the first step of a fixed ladder
// past what has run, so that the scale, and every bar already drawn, stays put while the
// run goes; the live page redraws the timeline only when the run outgrows it.
func ganttHorizon(total time.Duration) time.Duration {
	for _, h := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute,
		time.Hour, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour} {
		if total < h {
			return h
		}
	}
	return 2 * total
}

func clampWindow(from, to, total time.Duration) (time.Duration, time.Duration) {
	if to <= 0 || to <= from {
		return 0, total
	}
	w := min(max(to-from, ganttMinWindow), total)
	if from < 0 {
		from = 0
	}
	if from+w > total {
		from = total - w
	}
	return from, from + w
}

// ganttBarClass picks a bar's look: timers and waits for people have their own, attempts
// are coloured by status.
func ganttBarClass(e *engine.TimelineEntry, critical bool) string {
	c := "tl-" + e.Status
	switch e.Step {
	case engine.StepTimer:
		c = "tl-timer"
	case engine.StepPerson:
		c = "tl-person"
	case engine.StepDecision:
		c = "tl-decision"
	}
	if e.Status == engine.NodeFailed && e.Step != engine.StepActivity && e.Step != engine.StepLocal {
		c += " tl-failed"
	}
	// A timer or a wait stopped before its end keeps its look, outlined as stopped.
	if e.Status == engine.NodeCancelled && c != "tl-"+engine.NodeCancelled {
		c += " tl-stopped"
	}
	if critical {
		c += " tl-critical"
	}
	return c
}

func ganttBarTitle(node string, e *engine.TimelineEntry, sched, start, end time.Time, open bool) string {
	var b strings.Builder
	b.WriteString(node)
	switch e.Step {
	case engine.StepActivity:
		fmt.Fprintf(&b, " · attempt %d (%s)", e.Attempt, e.Name)
	case engine.StepTimer:
		b.WriteString(" · " + e.Name)
	case engine.StepChild:
		b.WriteString(" · subgraph run " + e.ChildRun)
	case engine.StepPerson:
		b.WriteString(" · waiting for a person")
	case engine.StepDecision:
		b.WriteString(" · decision")
	case engine.StepLocal:
		if e.Name == agentTurnActivity { // an agent's model turn, run in the worker
			fmt.Fprintf(&b, " · model turn, attempt %d", e.Attempt)
		} else {
			b.WriteString(" · evaluated")
		}
	}
	b.WriteString(" · " + e.Status)
	if open {
		b.WriteString(" for " + runDuration(end.Sub(start)))
	} else {
		b.WriteString(" · " + runDuration(end.Sub(start)))
	}
	if q := start.Sub(sched); q > 0 {
		b.WriteString(" (waited " + runDuration(q) + " before starting)")
	}
	if e.StartedAt == nil && e.EndedAt == nil && e.Status == engine.NodeFailed {
		b.WriteString(" · times not recorded")
	}
	if e.Error != nil && e.Error.Type != engine.ErrTypeCancelled {
		v := runErrorView(e.Error, false)
		b.WriteString("\n" + v.Title + ": " + v.Message)
	}
	return b.String()
}

// ganttTicks are round times from from to to, about eight of them.
func ganttTicks(from, to time.Duration) []time.Duration {
	steps := []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
		20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
		48 * time.Hour, 7 * 24 * time.Hour}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if (to-from)/s <= 8 {
			step = s
			break
		}
	}
	var out []time.Duration
	for t := (from + step - 1) / step * step; t <= to; t += step {
		out = append(out, t)
	}
	return out
}

// ganttOffset writes a time since the run's start compactly: 0, 250ms, 1.5s, 2m30s, 1h05m.
func ganttOffset(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", d.Seconds()), "0"), ".0") + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
