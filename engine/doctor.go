package engine

import (
	"context"
	"fmt"
	"sort"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
)

// What trellis doctor needs of the engine: the approval tasks a run has opened and not yet
// closed, read from its history (the record the store's inbox must agree with), and the
// task as the run opened it, to store it again when the store lost it.

// ApprovalState is where one approval task of a run stands by the run's history.
type ApprovalState string

const (
	// ApprovalOpening: the open activity is scheduled and has not completed; the store
	// may have the task already.
	ApprovalOpening ApprovalState = "opening"
	// ApprovalOpen: the task was opened and the run waits for its decision.
	ApprovalOpen ApprovalState = "open"
	// ApprovalClosing: decided or cancelled; the activity closing it in the store has
	// not completed.
	ApprovalClosing ApprovalState = "closing"
	// ApprovalClosed: closed in the store (the closing activity completed).
	ApprovalClosed ApprovalState = "closed"
)

// RunApprovals is a run's approval tasks as its history tells them, by task node id (an
// approval node, a map item's, or an agent's tool call NODE/STEP/CALL).
type RunApprovals struct {
	RunID string
	// Ended says the run is over (completed, failed, cancelled, terminated, timed out).
	Ended bool
	// Status is Temporal's word for how the run ended ("Terminated"), or "Running".
	Status string
	Tasks  map[string]ApprovalState
	opens  map[string]openRequest
	escs   map[string]escalateRequest
}

// Nodes lists the task node ids in the given state, sorted.
func (ra *RunApprovals) Nodes(state ApprovalState) []string {
	var out []string
	for id, s := range ra.Tasks {
		if s == state {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Task is the task the run opened for node, as the open activity stored it (its templates
// rendered from the scope recorded in the activity's input), with the run's last escalation
// applied: what the store must hold while the run waits. ok is false when the history has
// no open for node.
func (ra *RunApprovals) Task(node string) (t NewTask, ok bool, err error) {
	req, ok := ra.opens[node]
	if !ok {
		return t, false, nil
	}
	if t, _, err = renderTask(req); err != nil {
		return t, true, fmt.Errorf("run %s node %s: %w", ra.RunID, node, err)
	}
	if esc, ok := ra.escs[node]; ok {
		t.Assignee, t.DueAt = esc.Assignee, esc.DueAt
	}
	return t, true, nil
}

// RunApprovals reads the approval tasks of a run from its history; ErrRunNotFound for a
// run Temporal does not know.
func (e *Engine) RunApprovals(ctx context.Context, runID string) (*RunApprovals, error) {
	events, err := e.history(ctx, runID)
	if err != nil {
		return nil, err
	}
	ra := &RunApprovals{RunID: runID, Status: "Running", Tasks: map[string]ApprovalState{},
		opens: map[string]openRequest{}, escs: map[string]escalateRequest{}}
	type scheduled struct{ kind, node string }
	byID := map[int64]scheduled{}
	dc := converter.GetDefaultDataConverter()
	decode := func(p *commonpb.Payloads, v any) error {
		if err := dc.FromPayloads(p, v); err != nil {
			return fmt.Errorf("run %s: decode an approval activity's input: %w", runID, err)
		}
		return nil
	}
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := ev.GetActivityTaskScheduledEventAttributes()
			kind, node := a.GetActivityType().GetName(), a.GetActivityId()
			switch kind {
			case activityApprovalOpen:
				var req openRequest
				if err := decode(a.GetInput(), &req); err != nil {
					return nil, err
				}
				node = req.Task.NodeID
				ra.opens[node], ra.Tasks[node] = req, ApprovalOpening
				delete(ra.escs, node)
			case activityApprovalEscalate:
				var req escalateRequest
				if err := decode(a.GetInput(), &req); err != nil {
					return nil, err
				}
				node = req.NodeID
				// The run's state changes before the activity: the new assignee holds it.
				ra.escs[node] = req
			case activityApprovalDecided, activityApprovalCancel:
				if _, ok := ra.Tasks[node]; ok {
					ra.Tasks[node] = ApprovalClosing
				}
			default:
				continue
			}
			byID[ev.GetEventId()] = scheduled{kind, node}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			s, ok := byID[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]
			switch {
			case !ok:
			case s.kind == activityApprovalOpen && ra.Tasks[s.node] == ApprovalOpening:
				ra.Tasks[s.node] = ApprovalOpen
			case s.kind == activityApprovalDecided || s.kind == activityApprovalCancel:
				ra.Tasks[s.node] = ApprovalClosed
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			// An open that failed for good opened nothing the run waits on.
			if s, ok := byID[scheduledIDOf(ev)]; ok && s.kind == activityApprovalOpen && ra.Tasks[s.node] == ApprovalOpening {
				delete(ra.Tasks, s.node)
				delete(ra.opens, s.node)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			ra.Ended = true
			ra.Status = endedStatus(ev.GetEventType())
		}
	}
	return ra, nil
}

// scheduledIDOf is the scheduled event of an activity's failure, timeout or cancellation.
func scheduledIDOf(ev *historypb.HistoryEvent) int64 {
	if a := ev.GetActivityTaskFailedEventAttributes(); a != nil {
		return a.GetScheduledEventId()
	}
	if a := ev.GetActivityTaskTimedOutEventAttributes(); a != nil {
		return a.GetScheduledEventId()
	}
	return ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()
}

// endedStatus names how a run ended, as Temporal does.
func endedStatus(t enumspb.EventType) string {
	switch t {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		return "Completed"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		return "Failed"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return "Canceled"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		return "Terminated"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		return "TimedOut"
	}
	return "ContinuedAsNew"
}

// OpenRunIDs lists the runs (of every graph, drafts and subgraph runs included) that have
// not ended, as Temporal's visibility knows them.
func (e *Engine) OpenRunIDs(ctx context.Context) ([]string, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", WorkflowName)
	var ids []string
	err := e.eachRun(ctx, q, "list open runs", func(ex *workflowpb.WorkflowExecutionInfo) (bool, error) {
		ids = append(ids, ex.GetExecution().GetWorkflowId())
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
