package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Reasons a run refuses an operator's action (RecoveryError.Reason).
const (
	RecoveryConflict = "conflict" // the node is not held, the run is not paused, or it has ended
	RecoveryInvalid  = "invalid"  // the request does not fit (port, action, comment)
	RecoveryNoNode   = "no_node"  // the run has no such node
	RecoveryNoRun    = "no_run"   // there is no such run
)

// RecoveryError is a refused operator action, with a message safe to show; nothing was
// recorded.
type RecoveryError struct {
	Reason  string
	Message string
}

func (e *RecoveryError) Error() string { return e.Message }

// ActOnIncident retries, skips or fails held node req.Node of run runID through the
// "incident" update and returns the node as the run left it. A refusal is a *RecoveryError.
func (e *Engine) ActOnIncident(ctx context.Context, runID string, req IncidentRequest) (NodeState, error) {
	var ns NodeState
	err := e.update(ctx, runID, UpdateIncident, req, &ns)
	return ns, err
}

// PauseRun and ResumeRun pause and resume a run through the "control" update.
func (e *Engine) PauseRun(ctx context.Context, runID, by, comment string) error {
	return e.update(ctx, runID, UpdateControl, ControlRequest{Action: ActionPause, By: by, Comment: comment}, nil)
}

// ResumeRun: see PauseRun.
func (e *Engine) ResumeRun(ctx context.Context, runID, by, comment string) error {
	return e.update(ctx, runID, UpdateControl, ControlRequest{Action: ActionResume, By: by, Comment: comment}, nil)
}

// update sends a recovery update and waits until the run has recorded it.
func (e *Engine) update(ctx context.Context, runID, name string, arg, result any) error {
	if err := e.runUpdate(ctx, runID, name, arg, result); err != nil {
		return e.recoveryError(ctx, runID, err)
	}
	return nil
}

// runUpdate sends update name to run runID and waits until the run has completed it. The SDK
// reports an update that outlived ctx's deadline or the server's long poll as a
// WorkflowUpdateServiceTimeoutOrCanceledError over a gRPC status, which errors.Is does not
// match with context.DeadlineExceeded; here it does, so that callers answer "not confirmed in
// time: it may still be taken" (503), not an internal error. A busy worker after a restart,
// replaying many runs, is slow to take an update, and that is what callers must hear.
func (e *Engine) runUpdate(ctx context.Context, runID, name string, arg, result any) error {
	h, err := e.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: runID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, result)
	}
	var late *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.As(err, &late) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		cause := context.DeadlineExceeded
		if errors.Is(ctx.Err(), context.Canceled) {
			cause = context.Canceled
		}
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

func (e *Engine) recoveryError(ctx context.Context, runID string, err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case refusedConflict:
			return &RecoveryError{Reason: RecoveryConflict, Message: app.Message()}
		case refusedBad:
			return &RecoveryError{Reason: RecoveryInvalid, Message: app.Message()}
		case refusedNoNode:
			return &RecoveryError{Reason: RecoveryNoNode, Message: app.Message()}
		}
		if strings.Contains(app.Message(), "unknown update") {
			return &RecoveryError{Reason: RecoveryConflict,
				Message: fmt.Sprintf("Run %s was started before operators could act on runs", runID)}
		}
		return fmt.Errorf("run %s: %w", runID, err)
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// An update to a run that has ended is not found either; say how it ended.
		desc, derr := e.c.DescribeWorkflowExecution(ctx, runID, "")
		if derr != nil {
			return &RecoveryError{Reason: RecoveryNoRun, Message: fmt.Sprintf("Run %s was not found", runID)}
		}
		st := runStatus(desc.GetWorkflowExecutionInfo().GetStatus(), "")
		if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Errorf("run %s: %w", runID, err)
		}
		return &RecoveryError{Reason: RecoveryConflict, Message: fmt.Sprintf("Run %s has ended (%s)", runID, st)}
	}
	return fmt.Errorf("run %s: %w", runID, err)
}

// CountHeldRuns counts the runs held by an incident, draft test runs aside.
func (e *Engine) CountHeldRuns(ctx context.Context) (int, error) {
	resp, err := e.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: e.opts.Namespace,
		Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s' AND %s", WorkflowName, SAStatus, RunHeld, notDraftRuns)})
	if err != nil {
		return 0, fmt.Errorf("count held runs: %w", err)
	}
	return int(resp.GetCount()), nil
}
