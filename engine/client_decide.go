package engine

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// Decision is a reviewer's decision on a run's approval node. By, Groups and Claimer are the
// reviewer as the store knows them: the run checks them against the task's assignee.
type Decision struct {
	Outcome string
	Data    map[string]any
	Comment string
	By      string
	Groups  []string
	Claimer string
}

// Reasons a run refuses a decision (DecisionError.Reason).
const (
	DecisionForbidden  = "forbidden"   // not the assignee, not in its group, not the claimer
	DecisionDecided    = "decided"     // decided already; DecidedBy says by whom
	DecisionInvalid    = "invalid"     // the outcome, comment or data does not fit; see Problems
	DecisionNotWaiting = "not_waiting" // the node is not waiting for a decision, or the run ended
	DecisionNoRun      = "no_run"      // there is no such run
)

// DecisionError is a refused decision, with a message safe to show.
type DecisionError struct {
	Reason    string
	Message   string
	DecidedBy string
	Problems  []DecisionProblem
}

func (e *DecisionError) Error() string { return e.Message }

// Decide hands a decision to the approval node nodeID of run runID through the "decide"
// workflow update and waits until the run has recorded it and closed the task. A refusal
// is a *DecisionError; nothing is recorded then.
func (e *Engine) Decide(ctx context.Context, runID, nodeID string, d Decision) error {
	req := DecideRequest{Node: nodeID, Outcome: d.Outcome, Data: d.Data, Comment: d.Comment, By: d.By,
		Groups: d.Groups, Claimer: d.Claimer}
	if len(e.opts.DecisionKey) > 0 {
		req.Proof = decisionProof(e.opts.DecisionKey, runID, req)
	}
	if err := e.runUpdate(ctx, runID, UpdateDecide, req, nil); err != nil {
		return e.decideError(ctx, runID, nodeID, err)
	}
	return nil
}

func (e *Engine) decideError(ctx context.Context, runID, nodeID string, err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		de := &DecisionError{Message: app.Message()}
		var detail refusalDetail
		if app.HasDetails() && app.Details(&detail) == nil {
			de.DecidedBy, de.Problems = detail.DecidedBy, detail.Problems
		}
		switch app.Type() {
		case refusedForbidden:
			de.Reason = DecisionForbidden
		case refusedDecided:
			de.Reason = DecisionDecided
		case refusedInvalid:
			de.Reason = DecisionInvalid
		case refusedNotWaiting:
			de.Reason = DecisionNotWaiting
		default:
			return fmt.Errorf("decide %s/%s: %w", runID, nodeID, err)
		}
		return de
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// An update to a run that has ended is not found either; tell the two apart.
		if _, derr := e.c.DescribeWorkflowExecution(ctx, runID, ""); derr == nil {
			return &DecisionError{Reason: DecisionNotWaiting, Message: fmt.Sprintf("Run %s has ended; it takes no more decisions", runID)}
		}
		return &DecisionError{Reason: DecisionNoRun, Message: fmt.Sprintf("Run %s was not found", runID)}
	}
	return fmt.Errorf("decide %s/%s: %w", runID, nodeID, err)
}
