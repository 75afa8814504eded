package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// ScheduledWorkflowName is the workflow a Temporal schedule starts at each firing: it picks
// the version then (so "latest" is the latest at that firing), and runs the interpreter as
// its child until the run ends, so that the schedule's overlap policy applies to runs.
const ScheduledWorkflowName = "trellis.scheduled"

// activityScheduleResolve picks a scheduled run's version and definition on the store queue.
const activityScheduleResolve = "schedule.resolve"

// ErrTypeSchedule is the error type of a firing that cannot start a run (a retired version,
// an input that no longer fits, no version to run).
const ErrTypeSchedule = "ScheduleError"

// ScheduleResolver picks what a schedule's firing runs (the store and the actions, through
// an adapter in cmd). Version 0 means the latest version not retired, or the graph's traffic
// split where it has one, routed by runID (the firing's run id, one per firing). It returns an error
// wrapping ErrScheduleRefused when the firing can never run (the message says why); any
// other error is retried.
type ScheduleResolver interface {
	ResolveScheduled(ctx context.Context, graphID string, version int, input any, runID string) (int, *designer.Graph, error)
}

// ErrScheduleRefused is wrapped by ScheduleResolver for a firing that cannot run.
var ErrScheduleRefused = errors.New("scheduled run refused")

// ScheduledInput is the scheduled workflow's argument, fixed when the schedule is saved.
type ScheduledInput struct {
	ScheduleID string `json:"schedule_id"`
	GraphID    string `json:"graph_id"`
	Version    int    `json:"version"`
	Input      any    `json:"input"`
}

type resolvedRun struct {
	Version    int            `json:"version"`
	Definition designer.Graph `json:"definition"`
}

func init() {
	registerStoreActivity(activityScheduleResolve, func(d *Deps) any { return (&scheduleActivities{r: d.Schedules}).resolve })
}

type scheduleActivities struct{ r ScheduleResolver }

func (a *scheduleActivities) resolve(ctx context.Context, in ScheduledInput) (resolvedRun, error) {
	if a.r == nil {
		return resolvedRun{}, temporal.NewNonRetryableApplicationError("this worker cannot resolve scheduled runs", ErrTypeSchedule, nil)
	}
	// The run id the workflow gives its run, so a split routes each firing by its own key.
	runID := ScheduledRunID(activity.GetInfo(ctx).WorkflowExecution.ID)
	v, def, err := a.r.ResolveScheduled(ctx, in.GraphID, in.Version, in.Input, runID)
	if errors.Is(err, ErrScheduleRefused) {
		return resolvedRun{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeSchedule, nil)
	}
	if err != nil {
		return resolvedRun{}, err
	}
	if _, err := compileCached(def); err != nil {
		return resolvedRun{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("version %d cannot run: %v", v, err), ErrTypeSchedule, nil)
	}
	if err := checkStartSize(RunInput{GraphID: in.GraphID, Version: v, Definition: *def, Input: in.Input}); err != nil {
		return resolvedRun{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeSchedule, nil)
	}
	return resolvedRun{Version: v, Definition: *def}, nil
}

// ScheduledRunID is the run id a scheduled workflow gives its run: derived from the
// workflow id (which Temporal makes from the schedule id and the firing time), so a retried
// workflow task starts the same run and a schedule's recent actions name their runs.
func ScheduledRunID(workflowID string) string {
	sum := sha256.Sum256([]byte(workflowID))
	return "run-" + hex.EncodeToString(sum[:10])
}

// Scheduled is the workflow a schedule starts: resolve, then run the interpreter as a child
// and wait for it. A run that fails or is cancelled ends this workflow normally: the
// schedule's own failure is only a firing that could not start a run.
func Scheduled(ctx workflow.Context, in ScheduledInput) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           StoreTaskQueue(workflow.GetInfo(ctx).TaskQueueName),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, MaximumAttempts: 10},
	})
	var res resolvedRun
	if err := workflow.ExecuteActivity(actx, activityScheduleResolve, in).Get(ctx, &res); err != nil {
		return err
	}
	runID := ScheduledRunID(workflow.GetInfo(ctx).WorkflowExecution.ID)
	by := "schedule:" + in.ScheduleID
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            runID,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: runSearchAttributes(in.GraphID, res.Version, by),
		StaticSummary:         fmt.Sprintf("%s v%d", in.GraphID, res.Version),
	})
	run := RunInput{RunID: runID, GraphID: in.GraphID, Version: res.Version, Definition: res.Definition, Input: in.Input, StartedBy: by}
	err := workflow.ExecuteChildWorkflow(cctx, WorkflowName, run).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Info("scheduled run ended without success", "run_id", runID, "error", err)
	}
	return nil
}
