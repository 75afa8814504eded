package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// DecideRequest is a reviewer's decision on a task.
type DecideRequest struct {
	TaskID  string
	User    *store.User
	Outcome string
	Comment string
	// Data is what the reviewer filled in; nil is none. It gets the form's defaults.
	Data map[string]any
}

// Decide checks a decision against the task and hands it to the run waiting on it; the run
// records it and closes the task before it answers, so the task returned shows the decision.
// Refusals: NotFound for an unknown task or run; Conflict for a closed task (saying who
// decided) or a run that no longer waits; Forbidden when it is not the user's to decide;
// Invalid with the Decision problems when it does not fit; Unavailable when the run did not
// confirm in time.
func (a *Actions) Decide(ctx context.Context, req DecideRequest) (*store.Task, error) {
	if a.engine == nil || a.tasks == nil {
		return nil, errNoEngine("Decisions cannot be sent")
	}
	t, err := a.tasks.GetTask(ctx, req.TaskID)
	if err != nil {
		return nil, err
	}
	if err := CheckDecider(t, req.User); err != nil {
		return nil, err
	}
	sch, err := TaskForm(t)
	if err != nil {
		return nil, err
	}
	if req.Data == nil {
		req.Data = map[string]any{}
	}
	if probs := designer.CheckDecision(t.Outcomes, sch, req.Outcome, req.Comment, req.Data); len(probs) > 0 {
		return nil, &Error{Kind: Invalid, Message: "The decision does not fit the task.", Decision: probs}
	}
	d := engine.Decision{Outcome: req.Outcome, Data: sch.WithDefaults(req.Data), Comment: req.Comment,
		By: req.User.Name, Groups: req.User.Groups, Claimer: t.ClaimedBy}
	dctx, cancel := context.WithTimeout(ctx, DecideTimeout)
	defer cancel()
	if err := a.decideWhenWaiting(dctx, t, d); err != nil {
		return nil, refusal(t, err)
	}
	a.log.Info("task decided", slog.String("task", t.ID), slog.String("run_id", t.RunID), slog.String("node", t.NodeID),
		slog.String("outcome", d.Outcome), slog.String("by", d.By))
	return a.tasks.GetTask(ctx, t.ID)
}

// decideRetry is how often a decision is offered again to a run that has not yet marked its
// node waiting.
const decideRetry = 100 * time.Millisecond

// decideWhenWaiting hands the decision to the run. A task is in the store a moment before its
// run waits on it (the workflow marks the node waiting in the workflow task after the one
// that created the task, which on a loaded machine can take a while), so while the store
// says the task is open, "not waiting" means "not yet": offer it again until ctx ends.
func (a *Actions) decideWhenWaiting(ctx context.Context, t *store.Task, d engine.Decision) error {
	for {
		err := a.engine.Decide(ctx, t.RunID, t.NodeID, d)
		var de *engine.DecisionError
		if err == nil || !errors.As(err, &de) || de.Reason != engine.DecisionNotWaiting {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(decideRetry):
		}
		if cur, gerr := a.tasks.GetTask(ctx, t.ID); gerr != nil || cur.State != store.TaskOpen {
			return err
		}
	}
}

// CheckDecider refuses a decision the store already tells is wrong, before the run is asked:
// Conflict for a closed task (naming who decided), Forbidden for a task that is not the
// user's or that someone else holds. The run checks again, by the same rule, when it takes
// the decision.
func CheckDecider(t *store.Task, u *store.User) error {
	switch {
	case t.State == store.TaskCancelled:
		return refusef(Conflict, "Task %s was closed without a decision: its run ended.", t.ID)
	case t.State != store.TaskOpen && t.Decision != nil:
		return refusef(Conflict, "Task %s was already decided by %s (%s) at %s.", t.ID,
			t.Decision.DecidedBy, t.Decision.Outcome, t.Decision.DecidedAt.UTC().Format("2 Jan 2006 15:04 UTC"))
	case u != nil && t.ClaimedBy != "" && t.ClaimedBy != u.Name:
		return refusef(Forbidden, "Task %s is claimed by %s; only they can decide it.", t.ID, t.ClaimedBy)
	case u == nil || !designer.MayDecide(t.Assignee, t.ClaimedBy, u.Name, u.Groups):
		return refusef(Forbidden, "Task %s is assigned to %s, not to you.", t.ID, AssigneeWords(t.Assignee))
	}
	return nil
}

// TaskForm compiles a task's form. The engine compiled it when the run started, so a failure
// means the rules changed since.
func TaskForm(t *store.Task) (*designer.Schema, error) {
	sch, err := designer.CompileSchema(t.Form)
	if err != nil {
		return nil, fmt.Errorf("form of task %s: %w", t.ID, err)
	}
	return sch, nil
}

// AssigneeWords turns "group:finance" into "group finance" and "user:ann" into "ann".
func AssigneeWords(a string) string {
	kind, name, ok := strings.Cut(a, ":")
	if !ok {
		return a
	}
	if kind == designer.AssigneeGroup {
		return "group " + name
	}
	return name
}

// refusal turns the run's answer to a decision into a refusal of the kind it is.
func refusal(t *store.Task, err error) error {
	return engineRefusal(err, "The run did not confirm the decision in time. It may still take it: reload the task in a moment before deciding again.",
		func(err error) error { return fmt.Errorf("decide task %s: %w", t.ID, err) })
}
