package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/templates"
)

// runJSONLimit bounds a JSON value shown on the run page; the history download has it all.
const runJSONLimit = 64 << 10

// runStatusOrder is the order node counts are shown in.
var runStatusOrder = []string{engine.NodeRunning, engine.NodeWaiting, engine.NodeFailed, engine.NodeCompleted,
	engine.NodeCancelled, engine.NodeSkipped, engine.NodePending, runNotReached}

// runView is everything the run page is drawn from.
type runView struct {
	run  *engine.Run // nil when the engine could not read the run's state
	tl   *engine.Timeline
	now  time.Time
	view ganttView
	// graphName and latest come from the store; empty and 0 when it does not know the graph.
	graphName string
	latest    int
	retired   bool
	// tasks maps approval nodes to their task ids, when the store has them.
	tasks map[string]string
}

// runShowURL is the run page's URL with a view: the selected node and the time window in
// milliseconds since the run's start.
func runShowURL(runID string, v ganttView) string {
	q := url.Values{}
	if v.Node != "" {
		q.Set("node", v.Node)
	}
	if v.Items != "" {
		q.Set("items", v.Items)
	}
	if v.To > 0 {
		q.Set("from", strconv.FormatInt(v.From.Milliseconds(), 10))
		q.Set("to", strconv.FormatInt(v.To.Milliseconds(), 10))
	}
	u := "/runs/" + url.PathEscape(runID)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// nodeStatuses is each node's status: from the run's state when the engine could read it,
// else from the last step history shows (pending for a node with none).
func (rv *runView) nodeStatuses() map[string]string {
	st := map[string]string{}
	for _, e := range rv.tl.Entries {
		st[e.Node] = e.Status
	}
	if rv.run != nil {
		for id, n := range rv.run.Nodes {
			if n.Status != "" {
				st[id] = n.Status
			}
		}
	}
	ended := !rv.open()
	for _, n := range rv.tl.Definition.Nodes {
		switch {
		case st[n.ID] == "" && ended, st[n.ID] == engine.NodePending && ended:
			st[n.ID] = runNotReached
		case st[n.ID] == "":
			st[n.ID] = engine.NodePending
		}
	}
	return st
}

// failure is the node that failed the run and its own error, when a node did.
func (rv *runView) failure() (string, *engine.NodeError) {
	runErr := rv.runError()
	node, msg, ok := runErr.FailedNode()
	if !ok {
		return "", nil
	}
	if rv.run != nil && rv.run.Nodes[node].Error != nil {
		return node, rv.run.Nodes[node].Error
	}
	return node, &engine.NodeError{Type: runErr.Type, Message: msg}
}

func (rv *runView) runError() *engine.NodeError {
	if rv.run != nil && rv.run.Error != nil {
		return rv.run.Error
	}
	return rv.tl.Error
}

// nodeName is a node's label, or its id.
func (rv *runView) nodeName(id string) string {
	for _, n := range rv.tl.Definition.Nodes {
		if n.ID == id {
			return runNodeName(n.Label, id)
		}
	}
	return id
}

// draft says whether the run is a test run of a graph's draft.
func (rv *runView) draft() bool { return rv.tl.Version == engine.DraftVersion && rv.tl.GraphID != "" }

func (rv *runView) status() string {
	if rv.run != nil && rv.run.Status != "" {
		return rv.run.Status
	}
	return rv.tl.Status
}

func (rv *runView) endedAt() *time.Time {
	if rv.run != nil && rv.run.EndedAt != nil {
		return rv.run.EndedAt
	}
	return rv.tl.EndedAt
}

func (rv *runView) open() bool {
	s := rv.status()
	return s == engine.RunRunning || s == engine.RunWaiting || s == engine.RunHeld || s == engine.RunPaused
}

// live builds the part of the page that follows the run. admin says whether the viewer may
// open the admin pages an error's fix links to.
func (rv *runView) live(canCancel, canRerun, admin bool) templates.RunLiveProps {
	tl := rv.tl
	id := tl.RunID
	statuses := rv.nodeStatuses()
	p := templates.RunLiveProps{RunID: id, GraphID: tl.GraphID, GraphName: rv.graphName, Version: tl.Version,
		LatestVersion: rv.latest, VersionRetired: rv.retired, StartedBy: tl.StartedBy, Status: rv.status(),
		StartedAt: tl.StartedAt, EndedAt: rv.endedAt(), Polling: rv.open(),
		CanCancel: canCancel && rv.open(), CanRerun: canRerun, Draft: rv.draft()}
	if p.Draft {
		p.LatestVersion = 0
	}
	if canRerun && rv.retired && !p.Draft {
		p.CanRerun = false
		p.RerunRefusal = "Version " + strconv.Itoa(tl.Version) + " is retired, so it cannot run again."
	}
	end := rv.now
	if p.EndedAt != nil {
		end = *p.EndedAt
	}
	p.Duration = runDuration(end.Sub(tl.StartedAt))
	if tl.CancelRequestedAt != nil && rv.open() {
		p.CancelNote = "Cancellation was requested at " + tl.CancelRequestedAt.UTC().Format("15:04:05 MST") + "; nodes in flight are stopping."
	}
	link := func(v ganttView) templates.RunLink { return templates.RunLink{Page: runShowURL(id, v)} }
	failedNode, failedErr := rv.failure()
	rv.explainEnd(&p, statuses, failedNode, failedErr, admin, link)

	classes := make(map[string]string, len(statuses))
	notes := make(map[string]string, len(statuses))
	lines := map[string]string{}
	count := map[string]int{}
	for _, n := range tl.Definition.Nodes {
		s := statuses[n.ID]
		count[s]++
		classes[n.ID] = "status-" + s
		if n.ID == rv.view.Node {
			classes[n.ID] += " is-selected"
		}
		notes[n.ID] = rv.nodeNote(n.ID, s)
		if n.Kind == designer.KindMap || n.Kind == designer.KindLoop {
			lines[n.ID] = rv.nodeProgress(n.ID)
		}
	}
	p.Counts = runCounts(count)
	p.Legend = runLegend(count, failedNode, rv.nodeName(failedNode), p.Status)
	p.Graph = templates.GraphSVGProps{Graph: &tl.Definition, ID: "run-graph", Title: "Graph of run " + id + ", nodes coloured by status",
		NodeClass: classes, NodeNote: notes, NodeLine: lines}

	p.Timeline = buildGantt(ganttInput{tl: tl, statuses: statuses, now: rv.now, view: rv.view, link: link})
	// Failed attempts other than the one the error above already tells of: retries, and
	// failures of nodes that continued on their error port.
	last := -1
	for i, e := range tl.Entries {
		if failedErr != nil && e.Node == failedNode && e.Status == engine.NodeFailed && e.Error != nil && e.Error.Type == failedErr.Type {
			last = i
		}
	}
	for i, e := range tl.Entries {
		if e.Status != engine.NodeFailed || e.Error == nil || i == last {
			continue
		}
		f := templates.RunFailureRow{Node: e.Node, Label: rv.nodeName(e.Node), Attempt: e.Attempt, Error: *runErrorView(e.Error, admin),
			Select: link(ganttView{From: rv.view.From, To: rv.view.To, Node: e.Node})}
		if e.StartedAt != nil {
			f.At = "at " + ganttOffset(e.StartedAt.Sub(tl.StartedAt))
		}
		p.Failures = append(p.Failures, f)
	}
	p.Inspector = rv.inspector(statuses, link, failedNode, admin)
	rv.recoverProps(&p, canCancel, canRerun || canCancel) // run_recover_view.go
	p.Usage = rv.runUsage(statuses)
	return p
}

// nodeNote is what the drawing's tooltip says of a node's status.
func (rv *runView) nodeNote(id, status string) string {
	note := runStatusText(status)
	if rv.run != nil && rv.run.Nodes[id].Attempts > 1 {
		note += ", " + strconv.Itoa(rv.run.Nodes[id].Attempts) + " attempts"
	}
	if rv.run != nil {
		if p := rv.run.Nodes[id].Items; p != nil {
			note += ", " + itemProgressText(p)
		}
		if p := rv.run.Nodes[id].Rounds; p != nil {
			note += ", iteration " + strconv.Itoa(p.Iteration) + " of at most " + strconv.Itoa(p.Max)
		}
	}
	return note
}

// nodeProgress is what a map's or a loop's face says of its progress ("3 of 12 done",
// "round 2 of 4"), empty before it has any.
func (rv *runView) nodeProgress(id string) string {
	if rv.run == nil {
		return ""
	}
	if p := rv.run.Nodes[id].Items; p != nil {
		s := strconv.Itoa(p.Completed) + " of " + strconv.Itoa(p.Total) + " done"
		if p.Failed > 0 {
			s += ", " + strconv.Itoa(p.Failed) + " failed"
		}
		return s
	}
	if p := rv.run.Nodes[id].Rounds; p != nil {
		return "round " + strconv.Itoa(p.Iteration) + " of " + strconv.Itoa(p.Max)
	}
	return ""
}

// itemProgressText says how far a map's items are: "8 of 20 items done, 1 failed".
func itemProgressText(p *engine.ItemProgress) string {
	s := strconv.Itoa(p.Completed) + " of " + templates.Plural(p.Total, "item") + " done"
	if p.Failed > 0 {
		s += ", " + strconv.Itoa(p.Failed) + " failed"
	}
	return s
}

// runCounts is how many nodes have each status, in runStatusOrder.
func runCounts(count map[string]int) []templates.RunCount {
	var out []templates.RunCount
	for _, s := range runStatusOrder {
		if count[s] > 0 {
			out = append(out, templates.RunCount{Status: s, N: count[s]})
		}
	}
	return out
}

// explainEnd says how a run that did not complete ended, once: the node that failed it and
// why, with where to fix it, or when it was cancelled; and what became of the other nodes.
func (rv *runView) explainEnd(p *templates.RunLiveProps, statuses map[string]string, failedNode string, failedErr *engine.NodeError,
	admin bool, link func(ganttView) templates.RunLink) {
	var stopped, notReached int
	for _, st := range statuses {
		switch st {
		case engine.NodeCancelled:
			stopped++
		case runNotReached:
			notReached++
		}
	}
	var others []string
	if stopped > 0 {
		o := templates.Plural(stopped, "node") + runWasWere(stopped) + " still running and stopped (shown as cancelled)"
		if failedNode != "" {
			o = templates.Plural(stopped, "node") + runWasWere(stopped) + " still running and stopped when " + rv.nodeName(failedNode) + " failed (shown as cancelled)"
		}
		others = append(others, o)
	}
	if notReached > 0 {
		others = append(others, templates.Plural(notReached, "node")+runWasWere(notReached)+" not reached")
	}
	if len(others) > 0 {
		p.Others = strings.Join(others, "; ") + "."
	}
	switch p.Status {
	case engine.RunCancelled:
		p.Cancelled = runCancelledNote(rv.tl.CancelRequestedAt, rv.tl.CancelReason)
	case engine.RunFailed:
		if failedNode != "" {
			p.Error = runErrorView(failedErr, admin)
			p.Error.Node, p.Error.Select = rv.nodeName(failedNode), link(ganttView{From: rv.view.From, To: rv.view.To, Node: failedNode})
		} else {
			p.Error = runErrorView(rv.runError(), admin)
		}
	}
}

// runLegend explains the statuses a drawing shows that do not explain themselves.
func runLegend(count map[string]int, failedNode, failedName, runStatus string) []templates.RunLegendItem {
	var out []templates.RunLegendItem
	if count[engine.NodeCancelled] > 0 {
		why := "stopped before they finished, because the run was cancelled"
		if failedNode != "" {
			why = "stopped before they finished, because " + failedName + " failed and the run ended"
		} else if runStatus != engine.RunCancelled {
			why = "stopped before they finished"
		}
		out = append(out, templates.RunLegendItem{Status: engine.NodeCancelled, Text: why})
	}
	if count[engine.NodeSkipped] > 0 {
		out = append(out, templates.RunLegendItem{Status: engine.NodeSkipped, Text: "on a branch the run did not take"})
	}
	if count[runNotReached] > 0 {
		out = append(out, templates.RunLegendItem{Status: runNotReached, Text: "the run ended before their turn came, so they never ran"})
	}
	if count[engine.NodePending] > 0 {
		out = append(out, templates.RunLegendItem{Status: engine.NodePending, Text: "not started yet"})
	}
	return out
}

// runStatusText is a node status in words.
func runStatusText(s string) string {
	if s == runNotReached {
		return "not reached"
	}
	return s
}

// inspector shows the selected node.
func (rv *runView) inspector(statuses map[string]string, link func(ganttView) templates.RunLink, failedNode string, admin bool) templates.RunInspectorProps {
	tl := rv.tl
	var node *designer.Node
	for i := range tl.Definition.Nodes {
		if tl.Definition.Nodes[i].ID == rv.view.Node {
			node = &tl.Definition.Nodes[i]
		}
	}
	if node == nil {
		return templates.RunInspectorProps{}
	}
	p := templates.RunInspectorProps{Node: node.ID, Label: node.Label, Kind: node.Kind, Status: statuses[node.ID],
		Config: runPrettyRaw(node.Config), Clear: link(ganttView{From: rv.view.From, To: rv.view.To})}
	if tid := rv.tasks[node.ID]; tid != "" {
		p.TaskHref = "/tasks/" + tid
	}
	if p.Label == "" {
		p.Label = node.ID
	}
	var state engine.NodeState
	if rv.run != nil {
		state = rv.run.Nodes[node.ID]
	}
	p.Attempts = state.Attempts
	if state.StartedAt != nil {
		p.Started = runTimeOf(*state.StartedAt)
	}
	if state.EndedAt != nil {
		p.Ended = runTimeOf(*state.EndedAt)
		if state.StartedAt != nil {
			p.Duration = runDuration(state.EndedAt.Sub(*state.StartedAt))
		}
	}
	nodeErr := state.Error
	if nodeErr == nil && statuses[node.ID] == engine.NodeFailed {
		// Without the run's state (no worker to answer), the node's last failed step tells.
		for i := range tl.Entries {
			if e := &tl.Entries[i]; e.Node == node.ID && e.Status == engine.NodeFailed && e.Error != nil {
				nodeErr = e.Error
			}
		}
	}
	nodeErr = rv.inspectorNote(&p, statuses[node.ID], failedNode, nodeErr, state, admin)
	var entries []*engine.TimelineEntry
	attempts := 0
	for i := range tl.Entries {
		if e := &tl.Entries[i]; e.Node == node.ID {
			entries = append(entries, e)
			if e.Step == engine.StepActivity || e.Step == engine.StepLocal {
				attempts = max(attempts, e.Attempt)
			}
		}
	}
	p.Attempts = max(p.Attempts, attempts)
	output := rv.inspectorSteps(&p, entries, nodeErr, admin)
	if p.Input == "" && p.InputNote == "" {
		p.InputNote = runInputNote(node.Kind, len(entries) > 0, statuses[node.ID] == runNotReached)
	}
	p.OutputNote = inspectorOutputNote(statuses[node.ID])
	switch {
	case state.Output != nil:
		p.Output, p.HasOutput = runPrettyValue(state.Output), true
	case output != nil && string(output) != "null":
		p.Output, p.HasOutput = runPrettyRaw(output), true
	}
	if (node.Kind == designer.KindLLM || node.Kind == designer.KindAgent) && statuses[node.ID] == engine.NodeCompleted {
		p.Usage = llmNodeUsage(rv.nodeOutput(node.ID))
	}
	if node.Kind == designer.KindAgent {
		p.Turns = agentTurns(entries, rv.nodeOutput(node.ID))
		if statuses[node.ID] == engine.NodeRunning && agentAnswering(tl, node.ID, p.Turns) {
			p.Turns = append(p.Turns, templates.RunAgentTurnView{Turn: len(p.Turns) + 1, Pending: true, Open: true})
		}
	}
	if sp, ok := nodeSpans(&engine.Timeline{Entries: runEntriesOf(entries)}, rv.now)[node.ID]; ok {
		from, to := sp.start.Sub(tl.StartedAt), sp.end.Sub(tl.StartedAt)
		pad := max((to-from)/10, ganttMinWindow)
		p.ZoomTo = link(ganttView{From: max(from-pad, 0), To: to + pad, Node: node.ID})
	}
	return p
}

// inspectorNote says why a node that did not simply finish is as it is, and sets the error
// the inspector shows; it returns the node's error that is left to show (none for a node
// stopped by the run's end).
func (rv *runView) inspectorNote(p *templates.RunInspectorProps, st, failedNode string, nodeErr *engine.NodeError, state engine.NodeState, admin bool) *engine.NodeError {
	switch {
	case st == engine.NodeCancelled && p.Node != failedNode:
		// A cancelled node's error says only "cancelled"; say why instead.
		p.Note = "Stopped before it finished, because the run was cancelled."
		if failedNode != "" {
			p.Note = "Stopped before it finished, because " + rv.nodeName(failedNode) + " failed and the run ended."
		} else if rv.status() != engine.RunCancelled {
			p.Note = "Stopped before it finished."
		}
		nodeErr = nil
	case st == runNotReached:
		p.Note = "Not reached: the run ended before this node's turn came, so it never ran."
	case st == engine.NodeSkipped:
		p.Note = "Skipped: it is on a branch the run did not take."
	case st == engine.NodeFailed || (st == engine.NodeRunning || st == engine.NodeWaiting) && nodeErr != nil:
		p.Error = runErrorView(nodeErr, admin)
	case st == engine.NodeCompleted && nodeErr != nil && state.Port == designer.PortError:
		// on_error: continue: the node failed and went on by its error port.
		p.Error = runErrorView(nodeErr, admin)
		p.Note = "It failed and continued on its error port."
	}
	return nodeErr
}

// inspectorSteps lists a node's steps (entries) with when they ran and their errors, and
// takes the input, decision and child run they carry; it returns the last output recorded.
func (rv *runView) inspectorSteps(p *templates.RunInspectorProps, entries []*engine.TimelineEntry, nodeErr *engine.NodeError, admin bool) json.RawMessage {
	tl := rv.tl
	var output json.RawMessage
	for _, e := range entries {
		r := templates.RunAttemptRow{Attempt: e.Attempt, Step: e.Step, Name: e.Name, Status: e.Status}
		sched, st, en, open, ok := entryTimes(e, rv.now)
		switch {
		case ok && e.StartedAt != nil:
			r.Started = "at " + ganttOffset(st.Sub(tl.StartedAt))
			r.Duration = runDuration(en.Sub(st))
			if open {
				r.Duration += " so far"
			}
		case ok && open:
			r.Started = "scheduled at " + ganttOffset(sched.Sub(tl.StartedAt)) + ", not started yet"
		case ok && e.EndedAt == nil:
			r.Started = "scheduled at " + ganttOffset(sched.Sub(tl.StartedAt)) + "; when it ran was not recorded"
		case ok:
			r.Started = "ended at " + ganttOffset(en.Sub(tl.StartedAt))
		default:
			r.Started = "when it ran was not recorded"
		}
		// The error the inspector shows above is not repeated on its step.
		if e.Error != nil && !(p.Error != nil && runSameError(e.Error, nodeErr)) && e.Error.Type != engine.ErrTypeCancelled {
			r.Error = runErrorView(e.Error, admin)
		}
		p.Rows = append(p.Rows, r)
		if e.Input != nil {
			p.Input, p.InputNote = runEntryInput(e)
		}
		if e.Output != nil {
			output = e.Output
			if isAgentTurn(e) {
				output = agentTurnOutput(e)
			}
		}
		if e.Decision != nil {
			p.Decision = runPrettyRaw(e.Decision)
		}
		if e.ChildRun != "" {
			p.ChildRun = e.ChildRun
		}
	}
	return output
}

// inspectorOutputNote says why a node shows no output.
func inspectorOutputNote(status string) string {
	switch status {
	case runNotReached:
		return "No output: the node was not reached."
	case engine.NodeFailed:
		return "No output: the node failed."
	case engine.NodeCancelled:
		return "No output: the node was stopped."
	case engine.NodePending:
		return "No output yet: the node has not started."
	case engine.NodeRunning, engine.NodeWaiting:
		return "No output yet."
	}
	return "No output."
}

func runEntriesOf(es []*engine.TimelineEntry) []engine.TimelineEntry {
	out := make([]engine.TimelineEntry, len(es))
	for i, e := range es {
		out[i] = *e
	}
	return out
}

// runEntryInput shows what a step was given. An http activity gets its config and the part
// of the scope its templates read (secrets are added inside the activity and never
// recorded); the scope is the resolved input.
func runEntryInput(e *engine.TimelineEntry) (string, string) {
	var req struct {
		Scope json.RawMessage `json:"scope"`
	}
	if e.Step == engine.StepActivity && json.Unmarshal(e.Input, &req) == nil && req.Scope != nil {
		return runPrettyRaw(req.Scope), ""
	}
	return runPrettyRaw(e.Input), ""
}

func runInputNote(kind string, ran, notReached bool) string {
	switch {
	case notReached:
		return "The node was not reached, so it had no input."
	case !ran:
		return "The node has not run yet."
	case kind == designer.KindTransform:
		return "A transform is evaluated inside the workflow, so history records its result but not its input; the config shows what it reads."
	case kind == designer.KindWait:
		return "A wait takes no input."
	}
	return "History does not hold this node's input."
}

func runTimeOf(t time.Time) string { return t.UTC().Format("15:04:05.000 MST") }

// runPrettyRaw indents a JSON value for a <pre>, cut at runJSONLimit.
func runPrettyRaw(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return runCut(string(raw))
	}
	return runCut(b.String())
}

func runPrettyValue(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "(cannot be shown)"
	}
	return runCut(string(b))
}

func runCut(s string) string {
	if len(s) <= runJSONLimit {
		return s
	}
	return s[:runJSONLimit] + "\n… (cut here; download the history for all of it)"
}

// io is the run's input and output.
func (rv *runView) io() templates.RunIOProps {
	p := templates.RunIOProps{Input: runPrettyValue(rv.tl.Input), OutputNote: "No output yet."}
	if rv.run != nil && rv.run.Input != nil {
		p.Input = runPrettyValue(rv.run.Input)
	}
	if rv.run != nil && rv.run.Output != nil {
		p.Output, p.HasOutput = runPrettyValue(rv.run.Output), true
	}
	switch rv.status() {
	case engine.RunFailed:
		p.OutputNote = "No output: the run failed."
	case engine.RunCancelled:
		p.OutputNote = "No output: the run was cancelled."
	case engine.RunCompleted:
		p.OutputNote = "No output."
	}
	return p
}
