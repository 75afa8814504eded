package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// Expressions evaluated in workflow code (edge when, graph output, wait until, subgraph
// input) run within designer.WorkflowBudget, counted rather than timed so that a replay
// decides as the run did, and their results are recorded in history as side effects: a
// replay, and so every read of a run (the state query replays a run no worker holds),
// takes the recorded result instead of evaluating again. Runs started before recording
// evaluate inline, as they did, so that their histories still replay.
const changeRecordedExpr = "recorded-expressions"

// maxRecordedBytes bounds a recorded result, well under the 2 MiB a history event may hold.
const maxRecordedBytes = 1_500_000

// exprEvaluated, when set (by tests), sees the source of every expression actually
// evaluated in workflow code; replays that take a recorded result do not call it.
var exprEvaluated atomic.Pointer[func(src string)]

// recordedExpr is a side effect's record: the value, or the error.
type recordedExpr struct {
	Value  any                   `json:"value,omitempty"`
	Err    string                `json:"error,omitempty"`
	Budget *designer.BudgetError `json:"budget,omitempty"`
}

// evalRecorded evaluates e on scope within budget, once per run (see changeRecordedExpr).
// A refusal comes back as a *designer.BudgetError.
func evalRecorded(ctx workflow.Context, e *designer.Expr, scope map[string]any, budget designer.Budget) (any, error) {
	eval := func() (any, error) {
		if f := exprEvaluated.Load(); f != nil {
			(*f)(e.Source())
		}
		return e.EvalWith(designer.NewMeter(budget), scope)
	}
	if workflow.GetVersion(ctx, changeRecordedExpr, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return eval()
	}
	var rec recordedExpr
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		v, err := eval()
		if err == nil {
			b, merr := json.Marshal(v)
			switch {
			case merr != nil:
				err = merr
			case len(b) > maxRecordedBytes:
				err = fmt.Errorf("the value takes %d bytes written out; at most %d can be kept in a run", len(b), maxRecordedBytes)
			default:
				return recordedExpr{Value: json.RawMessage(b)}
			}
		}
		var be *designer.BudgetError
		if errors.As(err, &be) {
			return recordedExpr{Budget: be}
		}
		return recordedExpr{Err: err.Error()}
	}).Get(&rec)
	switch {
	case err != nil:
		return nil, err
	case rec.Budget != nil:
		return nil, rec.Budget
	case rec.Err != "":
		return nil, errors.New(rec.Err)
	}
	return rec.Value, nil
}

// whenBudget is the budget of each `when` on the edges out of one node: together they get
// one WorkflowBudget (at least 1/64 each), since they are all decided in one workflow task.
func (r *runState) whenBudget(from int) designer.Budget {
	n := 0
	for _, ei := range r.plan.out[from] {
		if r.plan.edges[ei].when != nil {
			n++
		}
	}
	b := designer.WorkflowBudget
	if n > 1 {
		n = min(n, 64)
		b.Memory, b.Steps = b.Memory/int64(n), b.Steps/int64(n)
	}
	return b
}

// evalWhen decides edge ei's `when`; an error fails the run.
func (r *runState) evalWhen(ctx workflow.Context, ei int) (bool, error) {
	e := &r.plan.edges[ei]
	v, err := evalRecorded(ctx, e.when, r.scope, r.whenBudget(e.from))
	if err == nil {
		var ok bool
		if ok, err = designer.AsBool(v); err == nil {
			return ok, nil
		}
	}
	subject := fmt.Sprintf("edge %d (%s → %s)", ei, r.plan.nodes[e.from].node.ID, r.plan.nodes[e.to].node.ID)
	return false, nonRetryable(ErrTypeExpr, exprFailure(subject, "when", err, subject+" field when: "+err.Error()))
}

// evalOutput is the graph's output expression; an error fails the run.
func (r *runState) evalOutput(ctx workflow.Context) (any, error) {
	v, err := evalRecorded(ctx, r.plan.output, r.scope, designer.WorkflowBudget)
	if err != nil {
		return nil, nonRetryable(ErrTypeExpr, exprFailure("the graph", "output", err, "graph field output: "+err.Error()))
	}
	return v, nil
}

// nodeExprErr is the message of a node field's failed evaluation.
func nodeExprErr(nodeID, field string, err error) string {
	return exprFailure("node "+nodeID, field, err, fieldErr(field, err))
}

// exprFailure says which expression was refused and by which budget, naming its subject
// and field; other errors read as otherwise.
func exprFailure(subject, field string, err error, otherwise string) string {
	var be *designer.BudgetError
	if !errors.As(err, &be) {
		return otherwise
	}
	where := "field " + field
	if be.Column > 0 {
		where += fmt.Sprintf(", column %d", be.Column)
	}
	return be.Describe(subject) + " (" + where + ")"
}
