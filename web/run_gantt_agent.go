package web

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/templates"
)

// An agent node's model turns and tool calls are steps of their own in its run's history
// (engine/kind_agent.go): each turn an activity of the node (agent.turn, one entry per
// attempt), each call an activity or task under the id NODE/STEP/CALL (an http or MCP
// call, an approval's task, wait and decision), or a child run RUN.NODE.STEP.CALL (a graph
// tool). The timeline draws them as rows under the agent's row, as a map's items: a row
// per turn, then a row per call of that turn, in order. The agent's own row keeps what is
// left (loading its graph tools) and one bar over its turns and calls, which the live page
// redraws as the agent goes on.

// ganttAgentRow is one turn or tool call of an agent: its entries (indexes into the
// timeline), and for a call, its tool and how its approval ended.
type ganttAgentRow struct {
	step, call int // call is -1 for the turn itself
	name       string
	entries    []int
	rejected   string // who rejected the call, and why
	refused    string // the error the model got back for a call that never ran
}

// ganttAgent is an agent's rows, and how many of them are calls.
type ganttAgent struct {
	rows  []ganttAgentRow
	calls int
}

// splitAgents finds each agent node's turns and calls among the timeline's entries. taken
// marks the entries that moved to an agent's rows (so that they are drawn there alone); the
// agent's other steps (loading its graph tools) stay on its own row.
func splitAgents(tl *engine.Timeline) (agents map[string]*ganttAgent, taken map[int]bool) {
	ids := map[string]bool{}
	for _, n := range tl.Definition.Nodes {
		if n.Kind == designer.KindAgent {
			ids[n.ID] = true
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	agents, taken = map[string]*ganttAgent{}, map[int]bool{}
	turns := map[string]int{}       // agent → turns seen so far
	lastFailed := map[string]bool{} // agent → its last turn entry was a failed attempt
	rowOf := func(node string, step, call int) *ganttAgentRow {
		a := agents[node]
		if a == nil {
			a = &ganttAgent{}
			agents[node] = a
		}
		for k := range a.rows {
			if a.rows[k].step == step && a.rows[k].call == call {
				return &a.rows[k]
			}
		}
		a.rows = append(a.rows, ganttAgentRow{step: step, call: call})
		if call >= 0 {
			a.calls++
		}
		return &a.rows[len(a.rows)-1]
	}
	var dueTimers []int
	for i := range tl.Entries {
		e := &tl.Entries[i]
		switch node, step, call, ok := agentStepOf(e, tl.RunID, ids); {
		case ok && call < 0:
			// A turn's attempts are one activity's entries, numbered; a local turn records
			// its last attempt alone, after any failed one that waited out a backoff.
			if turns[node] == 0 || e.Step == engine.StepActivity && e.Attempt <= 1 || e.Step == engine.StepLocal && !lastFailed[node] {
				turns[node]++
			}
			lastFailed[node] = e.Status == engine.NodeFailed
			r := rowOf(node, turns[node], -1)
			r.entries = append(r.entries, i)
			taken[i] = true
			agentTurnCalls(rowOf, node, r.step, e)
		case ok:
			r := rowOf(node, step, call)
			r.entries = append(r.entries, i)
			taken[i] = true
		case ids[e.Node] && e.Step == engine.StepTimer && strings.HasPrefix(e.Name, "due "):
			dueTimers = append(dueTimers, i)
		}
	}
	for node, a := range agents {
		agentResults(tl, a)
		for _, i := range dueTimers {
			if tl.Entries[i].Node != node {
				continue
			}
			if r := a.waitHolding(tl, &tl.Entries[i]); r != nil {
				r.entries = append(r.entries, i)
				slices.Sort(r.entries) // in time order, as the timeline is
				taken[i] = true
			}
		}
		slices.SortStableFunc(a.rows, func(x, y ganttAgentRow) int {
			if x.step != y.step {
				return x.step - y.step
			}
			return x.call - y.call
		})
	}
	return agents, taken
}

// agentStepOf says which agent's turn (call -1) or tool call an entry is a step of. A turn's
// step is counted by the caller, from the order of the turns.
func agentStepOf(e *engine.TimelineEntry, runID string, agents map[string]bool) (node string, step, call int, ok bool) {
	if agents[e.Node] && isAgentTurn(e) {
		return e.Node, 0, -1, true
	}
	var parts []string
	switch {
	case agents[e.Node] && e.Step == engine.StepChild:
		// A graph tool's run: RUN.NODE.STEP.CALL.
		rest, found := strings.CutPrefix(e.ChildRun, runID+"."+e.Node+".")
		if !found {
			return "", 0, 0, false
		}
		node, parts = e.Node, strings.Split(rest, ".")
	default:
		// An http or MCP call, or an approval's task: NODE/STEP/CALL.
		n, rest, found := strings.Cut(e.Node, "/")
		if !found || !agents[n] {
			return "", 0, 0, false
		}
		node, parts = n, strings.Split(rest, "/")
	}
	if len(parts) != 2 {
		return "", 0, 0, false
	}
	s, err1 := strconv.Atoi(parts[0])
	c, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || s < 1 || c < 0 {
		return "", 0, 0, false
	}
	return node, s, c, true
}

// agentTurnCalls adds a row for each call a completed turn asked for, named by its tool:
// a call refused before it ran (an unknown tool, arguments that do not fit) has no steps.
func agentTurnCalls(rowOf func(string, int, int) *ganttAgentRow, node string, step int, e *engine.TimelineEntry) {
	if e.Status != engine.NodeCompleted {
		return
	}
	var res struct {
		ToolCalls []struct {
			Name string `json:"name"`
		} `json:"tool_calls"`
	}
	if json.Unmarshal(agentTurnOutput(e), &res) != nil {
		return
	}
	for c, tc := range res.ToolCalls {
		rowOf(node, step, c).name = tc.Name
	}
}

// agentResults reads, for each call, what its approval decided (the approval.decided
// activity's input) and, for a call that has no steps, the error the next turn sent the
// model.
func agentResults(tl *engine.Timeline, a *ganttAgent) {
	results := map[int][]agentToolResult{} // by the turn whose calls they answer
	for _, r := range a.rows {
		if r.call >= 0 || r.step < 2 {
			continue
		}
		for _, i := range r.entries {
			if rs := agentTurnResults(&tl.Entries[i]); rs != nil {
				results[r.step-1] = rs
			}
		}
	}
	for k := range a.rows {
		r := &a.rows[k]
		if r.call < 0 {
			continue
		}
		for _, i := range r.entries {
			e := &tl.Entries[i]
			if e.Step != engine.StepActivity || e.Name != "approval.decided" {
				continue
			}
			var req struct {
				Decision engine.TaskDecision `json:"decision"`
			}
			if json.Unmarshal(e.Input, &req) == nil && req.Decision.Outcome != "" && req.Decision.Outcome != designer.ToolApprove {
				r.rejected = "rejected by " + req.Decision.DecidedBy
				if c := strings.TrimSpace(req.Decision.Comment); c != "" {
					r.rejected += ": " + c
				}
			}
		}
		if rs := results[r.step]; len(r.entries) == 0 && r.call < len(rs) && rs[r.call].IsError {
			r.refused = rs[r.call].Content
		}
	}
}

// waitHolding is the call whose wait for a person holds a due timer's start (the timer is
// named by the agent, not the call).
func (a *ganttAgent) waitHolding(tl *engine.Timeline, t *engine.TimelineEntry) *ganttAgentRow {
	if t.StartedAt == nil {
		return nil
	}
	for k := range a.rows {
		for _, i := range a.rows[k].entries {
			w := &tl.Entries[i]
			if w.Step == engine.StepPerson && w.StartedAt != nil && !t.StartedAt.Before(*w.StartedAt) &&
				(w.EndedAt == nil || !t.StartedAt.After(*w.EndedAt)) {
				return &a.rows[k]
			}
		}
	}
	return nil
}

// agentRowSpan is when a row's steps went, and whether any still goes.
func agentRowSpan(tl *engine.Timeline, entries []int, now time.Time) (sp nodeSpan, ok bool) {
	for _, i := range entries {
		s, _, end, open, timed := entryTimes(&tl.Entries[i], now)
		if !timed {
			continue
		}
		if !ok || s.Before(sp.start) {
			sp.start = s
		}
		if !ok || end.After(sp.end) {
			sp.end = end
		}
		sp.open, ok = sp.open || open, true
	}
	return sp, ok
}

// addAgentSpans stretches each agent's span over its calls (a node that failed on a call
// ends with it).
func addAgentSpans(spans map[string]nodeSpan, tl *engine.Timeline, agents map[string]*ganttAgent, now time.Time) {
	for node, a := range agents {
		var all []int
		for _, r := range a.rows {
			all = append(all, r.entries...)
		}
		sp, ok := agentRowSpan(tl, all, now)
		if !ok {
			continue
		}
		if own, seen := spans[node]; seen {
			sp.start, sp.end, sp.open = minTime(sp.start, own.start), maxTime(sp.end, own.end), sp.open || own.open
		}
		spans[node] = sp
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// agentRows draws an agent's turns and calls as rows from y on, and puts on its own row
// one bar over them all.
func agentRows(in ganttInput, f ganttFrame, agentRow *templates.TimelineRow, a *ganttAgent, y float64) []templates.TimelineRow {
	node := agentRow.Node
	turns := 0
	var all []int
	for _, r := range a.rows {
		all = append(all, r.entries...)
		if r.call < 0 {
			turns++
		}
	}
	sum := fmt.Sprintf("%s, %s", templates.Plural(turns, "model turn"), templates.Plural(a.calls, "tool call"))
	agentRow.Title += "; " + sum
	sp, ok := agentRowSpan(in.tl, all, in.now)
	if ok && (agentRow.Status == engine.NodeRunning || agentRow.Status == engine.NodeWaiting) {
		// A model turn under way is in history only once it has answered (it is a local
		// activity): the agent's bar goes on to now while it runs.
		sp.end, sp.open = maxTime(sp.end, in.now), true
	}
	if ok && sp.end.Sub(f.start) >= f.from && sp.start.Sub(f.start) <= f.to {
		x0, x1 := max(f.x(sp.start), 0), min(f.x(sp.end), 100)
		class := "tl-" + agentRow.Status
		if agentRow.Status == engine.NodeWaiting {
			class = "tl-running"
		}
		agentRow.Bars = append(agentRow.Bars, templates.TimelineBar{X: min(x0, 100-ganttMinBar), W: max(x1-x0, ganttMinBar),
			Y: agentRow.Y + 4, H: ganttRowHeight - 8, Class: class, Open: sp.open,
			Title: fmt.Sprintf("%s · %s · %s", node, sum, runDuration(sp.end.Sub(sp.start)))})
	}
	agentStatus := in.statuses[node]
	ended := agentStatus == engine.NodeCompleted || agentStatus == engine.NodeFailed || agentStatus == engine.NodeCancelled
	var rows []templates.TimelineRow
	for _, r := range a.rows {
		row := templates.TimelineRow{Node: fmt.Sprintf("%s/%d", node, r.step), Kind: agentRow.Kind, Y: y,
			Select: in.link(ganttView{From: in.view.From, To: in.view.To, Node: node, Items: in.view.Items})}
		row.Label = fmt.Sprintf("%s · turn %d", node, r.step)
		what := fmt.Sprintf("model turn %d of %s", r.step, node)
		if r.call >= 0 {
			name := r.name
			if name == "" {
				name = fmt.Sprintf("call %d", r.call+1)
			}
			row.Node = fmt.Sprintf("%s/%d/%d", node, r.step, r.call)
			row.Label = fmt.Sprintf("%s · turn %d · %s", node, r.step, name)
			what = fmt.Sprintf("tool call %s (call %d of turn %d) of %s", name, r.call+1, r.step, node)
		}
		row.Status = agentRowStatus(in.tl, r, ended)
		row.Title = what + ": " + runStatusText(row.Status)
		if sp, ok := agentRowSpan(in.tl, r.entries, in.now); ok {
			row.Title += ", " + runDuration(sp.end.Sub(sp.start))
		}
		if n := agentAttempts(in.tl, r.entries); n > 1 {
			row.Title += fmt.Sprintf(", %d attempts", n)
		}
		switch {
		case r.rejected != "":
			row.Title += "; " + r.rejected
		case r.refused != "":
			row.Title += "; refused: " + templates.ClipText(r.refused, 200)
		case row.Status == agentNotRun:
			row.Title += "; not run: the agent ended first"
		}
		ganttBars(&row, in, f, r.entries)
		rows = append(rows, row)
		y += ganttRowHeight
	}
	return rows
}

// agentRowStatus is a turn's or call's status: its last step's, rejected for a call its
// reviewer rejected, refused for one that never ran because the model got it wrong, and
// not run for one the agent ended without (max_steps reached).
func agentRowStatus(tl *engine.Timeline, r ganttAgentRow, ended bool) string {
	switch {
	case r.rejected != "":
		return agentRejected
	case r.refused != "":
		return agentRefused
	case len(r.entries) == 0 && ended:
		return agentNotRun
	case len(r.entries) == 0:
		return engine.NodePending
	}
	st := tl.Entries[r.entries[len(r.entries)-1]].Status
	for _, i := range r.entries {
		switch e := &tl.Entries[i]; {
		case e.Step == engine.StepPerson && e.Status == engine.NodeWaiting:
			// A call waiting for a person (its task open) waits, whatever else is drawn.
			return engine.NodeWaiting
		case e.Step != engine.StepTimer:
			st = e.Status // a due timer stopped by the decision says nothing of the call
		}
	}
	return st
}

// Statuses of a tool call's row that no node has.
const (
	agentRejected = "rejected"
	agentRefused  = "refused"
	agentNotRun   = engine.NodeSkipped // max_steps reached before it ran
)

// agentAttempts is the most attempts of one activity among entries.
func agentAttempts(tl *engine.Timeline, entries []int) int {
	n := 0
	for _, i := range entries {
		if e := &tl.Entries[i]; e.Step == engine.StepActivity || e.Step == engine.StepLocal {
			n = max(n, e.Attempt)
		}
	}
	return n
}
