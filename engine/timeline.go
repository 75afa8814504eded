package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"trellis/designer"
)

// Timeline steps: what one entry stands for in the run's history.
const (
	// StepActivity is one attempt of an activity (http, llm, the load of a subgraph, …).
	StepActivity = "activity"
	// StepLocal is a local activity, recorded as a marker (transform).
	StepLocal = "local"
	// StepTimer is a durable timer (wait, an approval's due time).
	StepTimer = "timer"
	// StepChild is a child run (subgraph).
	StepChild = "child"
	// StepDecision is a person's decision, delivered as a workflow update.
	StepDecision = "decision"
	// StepPerson is the time a node waited for a person's decision.
	StepPerson = "person"
	// StepOperator is an operator's retry, skip or fail of a held node (Name says which).
	StepOperator = "operator"
)

// TimelineEntry is one row of GET /runs/{id}/timeline: one attempt of an activity, one
// timer, one child run, one local activity or one decision, as the run's history records it.
//
// ScheduledAt is when the step was asked for: for a retry, when the attempt before it ended
// (the gap to StartedAt is the backoff). Times the history does not hold are null, such as
// those of an attempt whose error was not recorded.
type TimelineEntry struct {
	Node        string     `json:"node"`
	Kind        string     `json:"kind"`
	Attempt     int        `json:"attempt"`
	Status      string     `json:"status"`
	ScheduledAt *time.Time `json:"scheduled_at"`
	StartedAt   *time.Time `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at"`
	Error       *NodeError `json:"error"`
	Step        string     `json:"step"`
	// Name is the activity's type, the timer's duration or the update's name.
	Name string `json:"name,omitempty"`
	// ChildRun is the run id of a child run.
	ChildRun string `json:"child_run,omitempty"`
	// Item is the index of the map item a child run is (RUN.NODE.N).
	Item *int `json:"item,omitempty"`
	// Decision is the argument of a decision update as JSON.
	Decision json.RawMessage `json:"decision,omitempty"`
	// Input and Output are the step's payloads as history holds them (an activity's input,
	// a child's input; results), for the node inspector; the API leaves them out.
	Input  json.RawMessage `json:"-"`
	Output json.RawMessage `json:"-"`

	seq int64 // the event that opened the step, to keep the order stable
}

// Timeline is a run as its Temporal history tells it: the pinned definition it was started
// with, and every step in time order. It is built from history alone (plus, for a run still
// going, the server's view of activities in flight), so it holds for finished runs, for runs
// of retired versions and after a restart.
type Timeline struct {
	RunID      string         `json:"run_id"`
	GraphID    string         `json:"graph"`
	Version    int            `json:"version"`
	StartedBy  string         `json:"started_by"`
	Definition designer.Graph `json:"-"`
	Input      any            `json:"-"`
	Status     string         `json:"status"`
	StartedAt  time.Time      `json:"started_at"`
	EndedAt    *time.Time     `json:"ended_at"`
	// CancelRequestedAt is when someone asked the run to stop, with their reason.
	CancelRequestedAt *time.Time      `json:"cancel_requested_at,omitempty"`
	CancelReason      string          `json:"cancel_reason,omitempty"`
	Error             *NodeError      `json:"error"`
	Entries           []TimelineEntry `json:"entries"`
	// Moves are the run's moves to other versions (migrate.go); Version and Definition
	// are those of the last one.
	Moves []TimelineMove `json:"moves,omitempty"`
	// Pauses are the times an operator paused the run, oldest first.
	Pauses []TimelinePause `json:"pauses,omitempty"`
}

// BuildTimeline reads a run's history (oldest event first). pending, for a run still going,
// is what DescribeWorkflowExecution says of activities in flight (their attempt and last
// failure are not in history until they end); it may be nil.
func BuildTimeline(events []*historypb.HistoryEvent, pending []*workflowpb.PendingActivityInfo) (*Timeline, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("build timeline: empty history")
	}
	first := events[0]
	if first.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		return nil, fmt.Errorf("build timeline: history starts with %s", first.GetEventType())
	}
	tl := &Timeline{Status: RunRunning, StartedAt: first.GetEventTime().AsTime().UTC(), Entries: []TimelineEntry{}}
	var in RunInput
	if raw := payloadJSON(first.GetWorkflowExecutionStartedEventAttributes().GetInput()); raw != nil {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("build timeline: decode run input: %w", err)
		}
	}
	tl.RunID, tl.GraphID, tl.Version, tl.StartedBy = in.RunID, in.GraphID, in.Version, in.StartedBy
	tl.Definition, tl.Input = in.Definition, in.Input
	kinds := make(map[string]string, len(in.Definition.Nodes))
	for _, n := range in.Definition.Nodes {
		kinds[n.ID] = n.Kind
	}

	b := &timelineBuilder{tl: tl, kinds: kinds,
		activities: map[int64]*activityStep{}, timers: map[string]int{}, children: map[int64]int{},
		updates: map[string]int{}, wftStarted: map[int64]time.Time{}, wftDone: map[int64]int64{}}
	for _, ev := range events {
		b.event(ev)
	}
	b.attachPending(pending)
	b.finishActivities()
	b.personWaits()
	b.endDueTimers()
	b.closeOpen()
	sortEntries(tl.Entries)
	return tl, nil
}

type timelineBuilder struct {
	tl         *Timeline
	kinds      map[string]string
	order      []*activityStep
	activities map[int64]*activityStep // by scheduled event id
	timers     map[string]int          // timer id → entry index
	children   map[int64]int           // initiated event id → entry index
	updates    map[string]int          // update id → entry index
	wftStarted map[int64]time.Time     // workflow task started event id → time
	wftDone    map[int64]int64         // workflow task completed event id → its started event id
	moves      map[string]*moveStep    // migrate update id → the move asked for
	controls   map[string]controlStep  // control update id → the pause or resume asked for
	taskStart  time.Time               // when the last completed workflow task started
}

func (b *timelineBuilder) add(e TimelineEntry) int {
	e.Kind = b.kinds[e.Node]
	b.tl.Entries = append(b.tl.Entries, e)
	return len(b.tl.Entries) - 1
}

func (b *timelineBuilder) entry(i int, ok bool) *TimelineEntry {
	if !ok {
		return nil
	}
	return &b.tl.Entries[i]
}

func (b *timelineBuilder) event(ev *historypb.HistoryEvent) {
	at := ev.GetEventTime().AsTime().UTC()
	id := ev.GetEventId()
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
		b.wftStarted[id] = at
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		started := ev.GetWorkflowTaskCompletedEventAttributes().GetStartedEventId()
		b.wftDone[id] = started
		b.taskStart = b.wftStarted[started]
	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		b.marker(ev, at)
	default:
		_ = b.activityEvent(ev, at, id) || b.timerEvent(ev, at, id) || b.childEvent(ev, at, id) ||
			b.updateEvent(ev, at, id) || b.runEvent(ev, at)
	}
}

// activityEvent takes the events of activities: one step per attempt.
func (b *timelineBuilder) activityEvent(ev *historypb.HistoryEvent, at time.Time, id int64) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		a := ev.GetActivityTaskScheduledEventAttributes()
		if bookkeepingActivities[a.GetActivityType().GetName()] {
			return true
		}
		s := &activityStep{node: a.GetActivityId(), name: a.GetActivityType().GetName(), seq: id,
			scheduled: at, input: payloadJSON(a.GetInput()), records: map[int32]attemptRecord{}}
		b.activities[id] = s
		b.order = append(b.order, s)
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		a := ev.GetActivityTaskStartedEventAttributes()
		if s := b.activities[a.GetScheduledEventId()]; s != nil {
			s.started, s.attempt, s.lastFailure = &at, int(a.GetAttempt()), a.GetLastFailure()
			s.addRecords(a.GetLastFailure())
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		a := ev.GetActivityTaskCompletedEventAttributes()
		if s := b.activities[a.GetScheduledEventId()]; s != nil {
			s.close(at, NodeCompleted, nil)
			var res struct {
				Output json.RawMessage `json:"output"`
			}
			if raw := payloadJSON(a.GetResult()); raw != nil && json.Unmarshal(raw, &res) == nil {
				s.output = res.Output
			}
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
		a := ev.GetActivityTaskFailedEventAttributes()
		if s := b.activities[a.GetScheduledEventId()]; s != nil {
			s.close(at, NodeFailed, a.GetFailure())
			s.addRecords(a.GetFailure())
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
		a := ev.GetActivityTaskTimedOutEventAttributes()
		if s := b.activities[a.GetScheduledEventId()]; s != nil {
			s.close(at, NodeFailed, a.GetFailure())
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
		a := ev.GetActivityTaskCanceledEventAttributes()
		if s := b.activities[a.GetScheduledEventId()]; s != nil {
			s.close(at, NodeCancelled, nil)
			s.err = &NodeError{Message: "cancelled", Type: ErrTypeCancelled}
		}
	default:
		return false
	}
	return true
}

// timerEvent takes timers, named by their node (an approval's due timer "<node> due").
func (b *timelineBuilder) timerEvent(ev *historypb.HistoryEvent, at time.Time, id int64) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_TIMER_STARTED:
		a := ev.GetTimerStartedEventAttributes()
		// Trellis names a timer by its node, and an approval's due timer "<node> due".
		node, what, _ := strings.Cut(summaryOf(ev), " ")
		if node == "" {
			return true
		}
		name := strings.TrimSpace(what + " " + timerDuration(a.GetStartToFireTimeout().AsDuration()))
		b.timers[a.GetTimerId()] = b.add(TimelineEntry{Node: node, Attempt: 1, Status: NodeRunning, Step: StepTimer,
			Name: name, ScheduledAt: ptr(at), StartedAt: ptr(at), seq: id})
	case enumspb.EVENT_TYPE_TIMER_FIRED:
		i, ok := b.timers[ev.GetTimerFiredEventAttributes().GetTimerId()]
		if e := b.entry(i, ok); e != nil {
			e.Status, e.EndedAt = NodeCompleted, ptr(at)
		}
	case enumspb.EVENT_TYPE_TIMER_CANCELED:
		i, ok := b.timers[ev.GetTimerCanceledEventAttributes().GetTimerId()]
		if e := b.entry(i, ok); e != nil {
			e.Status, e.EndedAt = NodeCancelled, ptr(at)
		}
	default:
		return false
	}
	return true
}

// childNode is the node of this run that started child (RUN.NODE for a subgraph or a
// graph tool, RUN.NODE.N for a map's item, RUN.NODE.batchK for a map's batch), and the
// item's index when it is one.
func childNode(runID, child string) (string, *int) {
	rest, ok := strings.CutPrefix(child, runID+".")
	if !ok {
		return child[strings.LastIndexByte(child, '.')+1:], nil
	}
	node, tail, _ := strings.Cut(rest, ".")
	if n, err := strconv.Atoi(tail); err == nil && n >= 0 {
		return node, &n
	}
	return node, nil
}

// childEvent takes child runs (subgraphs, map batches, graph tools).
func (b *timelineBuilder) childEvent(ev *historypb.HistoryEvent, at time.Time, id int64) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
		a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes()
		child := a.GetWorkflowId()
		node, item := childNode(b.tl.RunID, child)
		e := TimelineEntry{Node: node, Item: item, Attempt: 1, Status: NodePending, Step: StepChild, Name: a.GetWorkflowType().GetName(),
			ChildRun: child, ScheduledAt: ptr(at), seq: id}
		var cin struct {
			Input json.RawMessage `json:"input"`
		}
		if raw := payloadJSON(a.GetInput()); raw != nil && json.Unmarshal(raw, &cin) == nil {
			e.Input = cin.Input
		}
		b.children[id] = b.add(e)
	case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
		a := ev.GetStartChildWorkflowExecutionFailedEventAttributes()
		i, ok := b.children[a.GetInitiatedEventId()]
		if e := b.entry(i, ok); e != nil {
			e.Status, e.EndedAt = NodeFailed, ptr(at)
			e.Error = &NodeError{Message: "the child run could not start: " + strings.ToLower(a.GetCause().String()), Type: ErrTypeSubgraph}
		}
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
		i, ok := b.children[ev.GetChildWorkflowExecutionStartedEventAttributes().GetInitiatedEventId()]
		if e := b.entry(i, ok); e != nil {
			e.Status, e.StartedAt = NodeRunning, ptr(at)
		}
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
		a := ev.GetChildWorkflowExecutionCompletedEventAttributes()
		i, ok := b.children[a.GetInitiatedEventId()]
		if e := b.entry(i, ok); e != nil {
			e.Status, e.EndedAt, e.Output = NodeCompleted, ptr(at), payloadJSON(a.GetResult())
		}
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
		a := ev.GetChildWorkflowExecutionFailedEventAttributes()
		b.endChild(a.GetInitiatedEventId(), at, NodeFailed, failureError(a.GetFailure()))
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
		b.endChild(ev.GetChildWorkflowExecutionCanceledEventAttributes().GetInitiatedEventId(), at, NodeCancelled,
			&NodeError{Message: "cancelled", Type: ErrTypeCancelled})
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
		b.endChild(ev.GetChildWorkflowExecutionTimedOutEventAttributes().GetInitiatedEventId(), at, NodeFailed,
			&NodeError{Message: "the child run timed out", Type: ErrTypeTimeout})
	case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
		b.endChild(ev.GetChildWorkflowExecutionTerminatedEventAttributes().GetInitiatedEventId(), at, NodeFailed,
			&NodeError{Message: "the child run was terminated", Type: "Terminated"})
	default:
		return false
	}
	return true
}

// updateEvent takes updates: decisions, operators' actions and moves to a version.
func (b *timelineBuilder) updateEvent(ev *historypb.HistoryEvent, at time.Time, id int64) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
		a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes()
		req := a.GetAcceptedRequest()
		var arg json.RawMessage
		if ps := req.GetInput().GetArgs().GetPayloads(); len(ps) > 0 {
			arg = payloadJSON(&commonpb.Payloads{Payloads: ps[:1]})
		}
		if b.moveAccepted(req.GetInput().GetName(), req.GetMeta().GetUpdateId(), arg) ||
			b.controlAccepted(req.GetInput().GetName(), req.GetMeta().GetUpdateId(), arg, at) {
			return true
		}
		node := decisionNode(arg)
		if node == "" {
			return true
		}
		step, name := StepDecision, req.GetInput().GetName()
		if name == UpdateIncident {
			var act IncidentRequest
			_ = json.Unmarshal(arg, &act)
			step, name = StepOperator, act.Action+" by "+act.By
		}
		b.updates[req.GetMeta().GetUpdateId()] = b.add(TimelineEntry{Node: node, Attempt: 1, Status: NodeRunning,
			Step: step, Name: name, ScheduledAt: ptr(at), StartedAt: ptr(at),
			Decision: arg, seq: id})
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
		a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
		if b.moveCompleted(a.GetMeta().GetUpdateId(), a.GetOutcome().GetFailure() == nil, at) ||
			b.controlCompleted(a.GetMeta().GetUpdateId(), a.GetOutcome().GetFailure() == nil) {
			return true
		}
		i, ok := b.updates[a.GetMeta().GetUpdateId()]
		if e := b.entry(i, ok); e != nil {
			e.EndedAt = ptr(at)
			if f := a.GetOutcome().GetFailure(); f != nil {
				e.Status, e.Error = NodeFailed, failureError(f)
			} else {
				e.Status, e.Output = NodeCompleted, payloadJSON(a.GetOutcome().GetSuccess())
			}
		}
	default:
		return false
	}
	return true
}

// runEvent takes the run's own events: its status, a cancel request and its end.
func (b *timelineBuilder) runEvent(ev *historypb.HistoryEvent, at time.Time) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		fields := ev.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
		if p, ok := fields[SAStatus]; ok {
			var st string
			if json.Unmarshal(p.GetData(), &st) == nil && liveStatus(st) {
				b.tl.Status = st
			}
		}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
		b.tl.CancelRequestedAt = ptr(at)
		b.tl.CancelReason = ev.GetWorkflowExecutionCancelRequestedEventAttributes().GetCause()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		b.end(at, RunCompleted, nil)
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		b.end(at, RunFailed, failureError(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()))
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		b.end(at, RunCancelled, &NodeError{Message: "run cancelled", Type: ErrTypeCancelled})
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		b.end(at, RunFailed, &NodeError{Message: "terminated: " + ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason(), Type: "Terminated"})
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		b.end(at, RunFailed, &NodeError{Message: "the run timed out", Type: ErrTypeTimeout})
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		b.end(at, RunCompleted, nil)
	default:
		return false
	}
	return true
}

func (b *timelineBuilder) end(at time.Time, status string, err *NodeError) {
	b.tl.Status, b.tl.EndedAt, b.tl.Error = status, ptr(at), err
}

func (b *timelineBuilder) endChild(initiated int64, at time.Time, status string, err *NodeError) {
	i, ok := b.children[initiated]
	if e := b.entry(i, ok); e != nil {
		e.Status, e.EndedAt, e.Error = status, ptr(at), err
	}
}

// localActivityMarker is the SDK's record of a local activity (its "data" detail).
type localActivityMarker struct {
	ActivityType string    `json:"ActivityType"`
	ReplayTime   time.Time `json:"ReplayTime"`
	Attempt      int       `json:"Attempt"`
}

// marker reads a local activity's marker. It ran within the workflow task that recorded
// it, so it started when that task started and ended at the marker's replay time.
func (b *timelineBuilder) marker(ev *historypb.HistoryEvent, at time.Time) {
	a := ev.GetMarkerRecordedEventAttributes()
	if a.GetMarkerName() != "LocalActivity" {
		return
	}
	node := summaryOf(ev)
	if node == "" {
		return
	}
	var m localActivityMarker
	if raw := payloadJSON(a.GetDetails()["data"]); raw != nil {
		_ = json.Unmarshal(raw, &m)
	}
	end := at
	if !m.ReplayTime.IsZero() && !m.ReplayTime.After(at) {
		end = m.ReplayTime.UTC()
	}
	start := end
	if t, ok := b.wftStarted[b.wftDone[a.GetWorkflowTaskCompletedEventId()]]; ok && !t.After(end) {
		start = t
	}
	e := TimelineEntry{Node: node, Attempt: max(m.Attempt, 1), Status: NodeCompleted, Step: StepLocal, Name: m.ActivityType,
		ScheduledAt: ptr(start), StartedAt: ptr(start), EndedAt: ptr(end), seq: ev.GetEventId()}
	if f := a.GetFailure(); f != nil {
		e.Status, e.Error = NodeFailed, failureError(f)
		if f.GetCanceledFailureInfo() != nil {
			e.Status = NodeCancelled
		}
	} else {
		e.Output = payloadJSON(a.GetDetails()["result"])
	}
	b.add(e)
}

// closeOpen ends the steps a finished run left open (an activity abandoned when the run
// failed, a timer of a terminated run) at the run's end, as cancelled.
func (b *timelineBuilder) closeOpen() {
	if b.tl.EndedAt == nil {
		return
	}
	for i := range b.tl.Entries {
		e := &b.tl.Entries[i]
		if e.EndedAt == nil && (e.Status == NodeRunning || e.Status == NodePending || e.Status == NodeWaiting) {
			e.Status, e.EndedAt = NodeCancelled, ptr(*b.tl.EndedAt)
		}
	}
}

// sortEntries orders entries by the first time each knows, then by the event that opened
// them and the attempt; an entry without any time sorts where its step began.
func sortEntries(es []TimelineEntry) {
	key := func(e *TimelineEntry) time.Time {
		for _, t := range []*time.Time{e.ScheduledAt, e.StartedAt, e.EndedAt} {
			if t != nil {
				return *t
			}
		}
		return time.Time{}
	}
	// Entries of unknown time take the time of the entry of the same step before them.
	keys := make([]time.Time, len(es))
	for i := range es {
		keys[i] = key(&es[i])
		if keys[i].IsZero() && i > 0 && es[i-1].seq == es[i].seq {
			keys[i] = keys[i-1]
		}
	}
	idx := make([]int, len(es))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := keys[idx[a]], keys[idx[b]]
		if !ka.Equal(kb) {
			return ka.Before(kb)
		}
		ea, eb := &es[idx[a]], &es[idx[b]]
		if ea.seq != eb.seq {
			return ea.seq < eb.seq
		}
		return ea.Attempt < eb.Attempt
	})
	sorted := make([]TimelineEntry, len(es))
	for i, j := range idx {
		sorted[i] = es[j]
	}
	copy(es, sorted)
}

// decisionNode finds the node a decision update is for: its argument's "node" (or
// "node_id") field.
func decisionNode(arg json.RawMessage) string {
	if arg == nil {
		return ""
	}
	var v struct {
		Node   string `json:"node"`
		NodeID string `json:"node_id"`
	}
	if json.Unmarshal(arg, &v) != nil {
		return ""
	}
	if v.Node != "" {
		return v.Node
	}
	return v.NodeID
}

// summaryOf is the event's user metadata summary: the node id, which Trellis puts on its
// timers and local activities.
func summaryOf(ev *historypb.HistoryEvent) string {
	p := ev.GetUserMetadata().GetSummary()
	if p == nil {
		return ""
	}
	var s string
	if json.Unmarshal(p.GetData(), &s) != nil {
		return ""
	}
	return s
}

// payloadJSON is the first payload's JSON, or nil for no payload or one not in JSON.
func payloadJSON(ps *commonpb.Payloads) json.RawMessage {
	if ps == nil || len(ps.GetPayloads()) == 0 {
		return nil
	}
	p := ps.GetPayloads()[0]
	if string(p.GetMetadata()["encoding"]) != "json/plain" {
		return nil
	}
	return json.RawMessage(p.GetData())
}

// failureError is a failure as people read it: the innermost application error's type and
// message, or what kind of failure it was.
func failureError(f *failurepb.Failure) *NodeError {
	if f == nil {
		return nil
	}
	switch {
	case f.GetTimeoutFailureInfo() != nil:
		msg := "timed out (" + timeoutName(f.GetTimeoutFailureInfo().GetTimeoutType()) + ")"
		if c := f.GetCause(); c != nil {
			msg += "; the attempt before failed: " + failureError(c).Message
		}
		return &NodeError{Message: msg, Type: ErrTypeTimeout}
	case f.GetCanceledFailureInfo() != nil:
		return &NodeError{Message: "cancelled", Type: ErrTypeCancelled}
	case f.GetTerminatedFailureInfo() != nil:
		return &NodeError{Message: "terminated", Type: "Terminated"}
	case f.GetApplicationFailureInfo() != nil:
		t := f.GetApplicationFailureInfo().GetType()
		if t == "" {
			t = "Error"
		}
		return &NodeError{Message: f.GetMessage(), Type: t}
	}
	if c := f.GetCause(); c != nil {
		return failureError(c)
	}
	return &NodeError{Message: f.GetMessage(), Type: "Error"}
}

// timerDuration writes a timer's duration as set: rounded (a due timer started after some
// time has passed is a few milliseconds short) and without zero units, as "1h" or "1m30s".
func timerDuration(d time.Duration) string {
	if d >= 10*time.Second {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Millisecond)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func ptr[T any](v T) *T { return &v }
