package engine

import (
	"encoding/json"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"trellis/designer"
)

// The activities of a timeline: one entry per attempt, from the events of each scheduled
// activity, the attempts its failures recorded (see newAttemptDetail) and, for a run still
// going, the server's view of activities in flight; and an approval's wait for a person.

// activityStep collects the events of one scheduled activity.
type activityStep struct {
	node, name string
	seq        int64
	scheduled  time.Time
	input      json.RawMessage

	started     *time.Time
	attempt     int
	lastFailure *failurepb.Failure

	closed  bool
	ended   time.Time
	status  string
	err     *NodeError
	output  json.RawMessage
	records map[int32]attemptRecord
	pending *workflowpb.PendingActivityInfo
}

func (s *activityStep) close(at time.Time, status string, f *failurepb.Failure) {
	s.closed, s.ended, s.status = true, at, status
	if f != nil {
		s.err = failureError(f)
	}
}

// addRecords keeps the attempts a failure's details carry.
func (s *activityStep) addRecords(f *failurepb.Failure) {
	for _, r := range failureRecords(f) {
		s.records[r.Attempt] = r
	}
}

func failureRecords(f *failurepb.Failure) []attemptRecord {
	for ; f != nil; f = f.GetCause() {
		ps := f.GetApplicationFailureInfo().GetDetails().GetPayloads()
		if len(ps) == 0 {
			continue
		}
		var d attemptDetail
		if raw := payloadJSON(&commonpb.Payloads{Payloads: ps[:1]}); raw != nil && json.Unmarshal(raw, &d) == nil {
			return d.Attempts
		}
	}
	return nil
}

// attachPending matches activities in flight to the last open step of their node.
func (b *timelineBuilder) attachPending(pending []*workflowpb.PendingActivityInfo) {
	for _, p := range pending {
		for i := len(b.order) - 1; i >= 0; i-- {
			s := b.order[i]
			if s.node == p.GetActivityId() && !s.closed {
				s.pending = p
				if hb := p.GetHeartbeatDetails().GetPayloads(); len(hb) > 0 {
					var recs []attemptRecord
					if raw := payloadJSON(&commonpb.Payloads{Payloads: hb[:1]}); raw != nil && json.Unmarshal(raw, &recs) == nil {
						for _, r := range recs {
							s.records[r.Attempt] = r
						}
					}
				}
				s.addRecords(p.GetLastFailure())
				break
			}
		}
	}
}

// finishActivities turns each activity into one entry per attempt.
func (b *timelineBuilder) finishActivities() {
	for _, s := range b.order {
		last := max(s.attempt, 1)
		var lastFailure *failurepb.Failure = s.lastFailure
		status := s.status
		var started *time.Time = s.started
		var nextScheduled *time.Time
		if p := s.pending; p != nil && !s.closed {
			last = max(int(p.GetAttempt()), 1)
			lastFailure = p.GetLastFailure()
			switch p.GetState() {
			case enumspb.PENDING_ACTIVITY_STATE_STARTED, enumspb.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED:
				status = NodeRunning
				if t := p.GetLastStartedTime(); t != nil {
					started = ptr(t.AsTime().UTC())
				}
			default:
				status = NodePending
				started = nil
				if t := p.GetScheduledTime(); t != nil && last > 1 {
					nextScheduled = ptr(t.AsTime().UTC())
				}
			}
		}
		if !s.closed && s.pending == nil {
			// Without the server's view, an open activity is known only to be scheduled;
			// once it has a started event it is running.
			status = NodePending
			if started != nil {
				status = NodeRunning
			}
		}
		for k := 1; k < last; k++ {
			e := TimelineEntry{Node: s.node, Attempt: k, Status: NodeFailed, Step: StepActivity, Name: s.name, seq: s.seq}
			if k == 1 {
				e.ScheduledAt = ptr(s.scheduled)
			} else if prev, ok := s.records[int32(k-1)]; ok {
				e.ScheduledAt = ptr(prev.EndedAt)
			}
			if r, ok := s.records[int32(k)]; ok {
				e.StartedAt, e.EndedAt = ptr(r.StartedAt), ptr(r.EndedAt)
				re := r.Error
				e.Error = &re
			} else if k == last-1 && lastFailure != nil {
				e.Error = failureError(lastFailure)
			} else {
				e.Error = &NodeError{Message: "this attempt failed; its error was not recorded", Type: "Unknown"}
			}
			b.add(e)
		}
		e := TimelineEntry{Node: s.node, Attempt: last, Status: status, Step: StepActivity, Name: s.name,
			StartedAt: started, Error: s.err, Input: s.input, Output: s.output, seq: s.seq}
		switch {
		case last == 1:
			e.ScheduledAt = ptr(s.scheduled)
		case nextScheduled != nil:
			e.ScheduledAt = nextScheduled
		default:
			if prev, ok := s.records[int32(last-1)]; ok {
				e.ScheduledAt = ptr(prev.EndedAt)
			}
		}
		if s.closed {
			e.EndedAt = ptr(s.ended)
		}
		b.add(e)
	}
}

// Approval activities: the task is opened, perhaps escalated, then closed with the decision
// or cancelled with the run.
const (
	approvalOpenActivity    = "approval.open"
	approvalDecidedActivity = "approval.decided"
	approvalCancelActivity  = "approval.cancel"
)

// personWaits adds, for each task an approval node opened, the time it waited for a person:
// from the task's opening to the decision (the update, or the activity that records a
// decision made when the task was due), or to its cancellation.
func (b *timelineBuilder) personWaits() {
	for _, s := range b.order {
		if s.name != approvalOpenActivity || !s.closed || s.status != NodeCompleted {
			continue
		}
		e := TimelineEntry{Node: s.node, Attempt: 1, Status: NodeWaiting, Step: StepPerson, Name: "waiting for a decision",
			ScheduledAt: ptr(s.ended), StartedAt: ptr(s.ended), seq: s.seq}
		end := func(t time.Time, status string) {
			if !t.Before(s.ended) && (e.EndedAt == nil || t.Before(*e.EndedAt)) {
				e.EndedAt, e.Status = ptr(t), status
			}
		}
		for _, d := range b.tl.Entries {
			if d.Node == s.node && d.Step == StepDecision && d.StartedAt != nil && d.Status != NodeFailed {
				end(*d.StartedAt, NodeCompleted)
			}
		}
		for _, o := range b.order {
			if o.node != s.node {
				continue
			}
			switch o.name {
			case approvalDecidedActivity:
				end(o.scheduled, NodeCompleted)
			case approvalCancelActivity:
				end(o.scheduled, NodeCancelled)
			}
		}
		b.add(e)
	}
}

// endDueTimers ends an approval's due timer where the wait for a person ended. The workflow
// leaves the timer pending after the decision (it is cancelled only when the run ends, or
// fires later to no effect), but from the decision on it no longer counts for anything, so
// its bar must not run on.
func (b *timelineBuilder) endDueTimers() {
	for i := range b.tl.Entries {
		t := &b.tl.Entries[i]
		if t.Step != StepTimer || t.Kind != designer.KindApproval || !strings.HasPrefix(t.Name, "due ") || t.StartedAt == nil {
			continue
		}
		for _, w := range b.tl.Entries {
			if w.Node != t.Node || w.Step != StepPerson || w.StartedAt == nil || w.EndedAt == nil ||
				t.StartedAt.Before(*w.StartedAt) || t.StartedAt.After(*w.EndedAt) {
				continue
			}
			if t.EndedAt == nil || t.EndedAt.After(*w.EndedAt) {
				t.Status, t.EndedAt = NodeCancelled, ptr(*w.EndedAt)
			}
		}
	}
}
