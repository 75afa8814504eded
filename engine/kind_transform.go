package engine

import (
	"context"

	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// transformKind evaluates a value. It runs as a local activity rather than inline: the
// result is recorded in history as one marker event (named "transform", summary = node id)
// that a timeline can show, replays read the recorded value instead of evaluating again
// (so a later change to the expression library cannot change a recorded run), and it costs
// neither a task queue round trip nor the three events of a regular activity.
type transformKind struct{}

// activityTransform is the local activity's registered name.
const activityTransform = "transform"

type transformConfig struct {
	value *valueTree
	refs  designer.Refs
}

// transformArgs is handed to the local activity in process, without serialization, so it
// may carry the compiled value.
type transformArgs struct {
	NodeID string
	Value  *valueTree
	Scope  map[string]any
}

func init() {
	registerKind(designer.KindTransform, transformKind{})
	registerActivity(activityTransform, func(*Deps) any { return evalTransform })
}

func (transformKind) compile(n *designer.Node, ps *problemList) any {
	var c designer.TransformConfig
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	if len(c.Value) == 0 {
		ps.nodef(n.ID, "config.value", "value is missing")
		return nil
	}
	v, err := compileValue(c.Value, true)
	if err != nil {
		ps.node(n.ID, "config.value", err)
		return nil
	}
	return &transformConfig{value: v, refs: v.refs()}
}

func (transformKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

func (transformKind) historyEvents(*designer.Node, any) int { return 1 + workflowTaskEvents }

func (k transformKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	return k.itemResult(ctx, k.startItem(ctx, x))
}

// startItem starts the evaluation (a map's item, kind_map_futures.go, or the node).
func (transformKind) startItem(ctx workflow.Context, x *nodeExec) workflow.Future {
	c := x.cfg.(*transformConfig)
	args := transformArgs{NodeID: x.node.ID, Value: c.value, Scope: x.scope(c.refs)}
	return workflow.ExecuteLocalActivity(localActivityOptions(ctx, x.node.ID), activityTransform, args)
}

// itemResult waits for the evaluation started and makes the node's result of it.
func (transformKind) itemResult(ctx workflow.Context, f workflow.Future) (nodeResult, error) {
	var out any
	if err := f.Get(ctx, &out); err != nil {
		return nodeResult{Attempts: 1}, err
	}
	return nodeResult{Output: out, Attempts: 1}, nil
}

// evalTransform is the transform local activity. The value is evaluated within
// designer.DefaultBudget and stops at the activity's deadline; a refusal fails the node for
// good (no retry), so that on_error applies and a restart does not evaluate it again.
func evalTransform(ctx context.Context, args transformArgs) (any, error) {
	if args.Value == nil {
		return nil, activityFailure(ctx, ErrTypeExpr, false, "transform %s has no compiled value", args.NodeID)
	}
	m := designer.NewMeter(designer.DefaultBudget).WithDeadline(ctx)
	v, err := args.Value.evalWith(m, args.Scope, false)
	if err != nil {
		return nil, activityFailure(ctx, ErrTypeExpr, false, "%s", nodeExprErr(args.NodeID, "value", err))
	}
	return v, nil
}
