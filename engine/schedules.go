package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Overlap policies of a schedule: what a firing does while the last run is still going.
const (
	OverlapSkip      = "skip"       // the firing is dropped
	OverlapBufferOne = "buffer_one" // one firing waits for the run, more are dropped
	OverlapAllowAll  = "allow_all"  // runs overlap
)

// ErrScheduleNotFound: no schedule has that id.
var ErrScheduleNotFound = errors.New("schedule not found")

// MinScheduleEvery is the shortest interval a schedule may have.
const MinScheduleEvery = time.Second

// Schedule is a schedule to create or replace. Cron (as ParseCron returns it) or Every sets
// when it fires; Version 0 runs the latest version at each firing.
type Schedule struct {
	ID       string
	GraphID  string
	Version  int
	Input    any
	Cron     string
	Every    time.Duration
	TimeZone string
	Overlap  string
	Paused   bool
	By       string
}

// ScheduleState is what Temporal says of a schedule now.
type ScheduleState struct {
	Paused  bool              `json:"paused"`
	Next    []time.Time       `json:"next"`
	Recent  []ScheduledFiring `json:"recent"`
	Running []string          `json:"running,omitempty"`
	Actions int               `json:"actions"`
	Skipped int               `json:"skipped_overlap"`
}

// ScheduledFiring is one recent firing and the run it started.
type ScheduledFiring struct {
	At    time.Time `json:"at"`
	RunID string    `json:"run_id"`
}

func overlapPolicy(name string) (enumspb.ScheduleOverlapPolicy, error) {
	switch name {
	case OverlapSkip, "":
		return enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, nil
	case OverlapBufferOne:
		return enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE, nil
	case OverlapAllowAll:
		return enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, nil
	}
	return 0, fmt.Errorf("overlap %q: use %s, %s or %s", name, OverlapSkip, OverlapBufferOne, OverlapAllowAll)
}

func (e *Engine) scheduleParts(s Schedule) (client.ScheduleSpec, *client.ScheduleWorkflowAction, enumspb.ScheduleOverlapPolicy, error) {
	pol, err := overlapPolicy(s.Overlap)
	if err != nil {
		return client.ScheduleSpec{}, nil, 0, err
	}
	spec := client.ScheduleSpec{TimeZoneName: s.TimeZone}
	switch {
	case s.Cron != "" && s.Every == 0:
		spec.CronExpressions = []string{s.Cron}
	case s.Cron == "" && s.Every >= MinScheduleEvery:
		spec.Intervals = []client.ScheduleIntervalSpec{{Every: s.Every}}
	default:
		return client.ScheduleSpec{}, nil, 0, fmt.Errorf("schedule %s: give a cron expression or an interval of at least %s", s.ID, MinScheduleEvery)
	}
	action := &client.ScheduleWorkflowAction{
		ID:            "sched-" + s.ID,
		Workflow:      ScheduledWorkflowName,
		Args:          []any{ScheduledInput{ScheduleID: s.ID, GraphID: s.GraphID, Version: s.Version, Input: s.Input}},
		TaskQueue:     e.opts.TaskQueue,
		StaticSummary: fmt.Sprintf("schedule %s of %s", s.ID, s.GraphID),
	}
	return spec, action, pol, nil
}

// CreateSchedule creates a Temporal schedule. A bad spec (time zone, cron) that the server
// refuses comes back as an error wrapping ErrBadFilter's sibling ErrBadSchedule.
func (e *Engine) CreateSchedule(ctx context.Context, s Schedule) error {
	spec, action, pol, err := e.scheduleParts(s)
	if err != nil {
		return err
	}
	_, err = e.c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: s.ID, Spec: spec, Action: action, Overlap: pol, Paused: s.Paused,
		// A firing missed while the server was down runs when it is back, within a minute.
		CatchupWindow: time.Minute,
		Note:          "created by " + s.By,
	})
	return scheduleErr(s.ID, err)
}

// ErrBadSchedule is a schedule the Temporal server refused as invalid.
var ErrBadSchedule = errors.New("invalid schedule")

func scheduleErr(id string, err error) error {
	var nf *serviceerror.NotFound
	var inv *serviceerror.InvalidArgument
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return fmt.Errorf("schedule %s: %w", id, ErrScheduleNotFound)
	case errors.As(err, &inv):
		return fmt.Errorf("schedule %s: %w: %s", id, ErrBadSchedule, inv.Message)
	}
	return fmt.Errorf("schedule %s: %w", id, err)
}

// UpdateSchedule replaces a schedule's spec, action, overlap and paused state.
func (e *Engine) UpdateSchedule(ctx context.Context, s Schedule) error {
	spec, action, pol, err := e.scheduleParts(s)
	if err != nil {
		return err
	}
	h := e.c.ScheduleClient().GetHandle(ctx, s.ID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		sch := in.Description.Schedule
		sch.Spec, sch.Action = &spec, action
		if sch.Policy == nil {
			sch.Policy = &client.SchedulePolicies{}
		}
		sch.Policy.Overlap = pol
		if sch.State == nil {
			sch.State = &client.ScheduleState{}
		}
		sch.State.Paused, sch.State.Note = s.Paused, "updated by "+s.By
		return &client.ScheduleUpdate{Schedule: &sch}, nil
	}})
	return scheduleErr(s.ID, err)
}

// DescribeSchedule reads a schedule's state: paused, its next five firing times, its recent
// firings with their runs.
func (e *Engine) DescribeSchedule(ctx context.Context, id string) (*ScheduleState, error) {
	d, err := e.c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return nil, scheduleErr(id, err)
	}
	st := &ScheduleState{Actions: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap}
	if d.Schedule.State != nil {
		st.Paused = d.Schedule.State.Paused
	}
	for i, t := range d.Info.NextActionTimes {
		if i == 5 {
			break
		}
		st.Next = append(st.Next, t.UTC())
	}
	for _, a := range d.Info.RecentActions {
		f := ScheduledFiring{At: a.ScheduleTime.UTC()}
		if a.StartWorkflowResult != nil {
			f.RunID = ScheduledRunID(a.StartWorkflowResult.WorkflowID)
		}
		st.Recent = append(st.Recent, f)
	}
	for _, w := range d.Info.RunningWorkflows {
		st.Running = append(st.Running, ScheduledRunID(w.WorkflowID))
	}
	return st, nil
}

// PauseSchedule pauses or resumes a schedule.
func (e *Engine) PauseSchedule(ctx context.Context, id string, paused bool, by string) error {
	h := e.c.ScheduleClient().GetHandle(ctx, id)
	var err error
	if paused {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: "paused by " + by})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "resumed by " + by})
	}
	return scheduleErr(id, err)
}

// TriggerSchedule fires a schedule now, under its own overlap policy.
func (e *Engine) TriggerSchedule(ctx context.Context, id string) error {
	return scheduleErr(id, e.c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}))
}

// DeleteSchedule deletes a schedule; runs it started go on.
func (e *Engine) DeleteSchedule(ctx context.Context, id string) error {
	return scheduleErr(id, e.c.ScheduleClient().GetHandle(ctx, id).Delete(ctx))
}
