package engine

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// waitKind pauses a run on a durable timer: a duration, or until the time an expression
// gives (RFC 3339). The timer lives on the server, so a wait survives restarts.
type waitKind struct{}

type waitConfig struct {
	duration time.Duration
	until    *designer.Expr
}

func init() { registerKind(designer.KindWait, waitKind{}) }

func (waitKind) compile(n *designer.Node, ps *problemList) any {
	var c designer.WaitConfig
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	switch {
	case c.Duration != "" && c.Until != "":
		ps.nodef(n.ID, "config", "give duration or until, not both")
	case c.Duration != "":
		d, err := time.ParseDuration(c.Duration)
		if err != nil || d < 0 {
			ps.nodef(n.ID, "config.duration", "%q is not a duration like 10s or 24h", c.Duration)
			return nil
		}
		return &waitConfig{duration: d}
	case c.Until != "":
		e, err := designer.CompileExpr(c.Until)
		if err != nil {
			ps.node(n.ID, "config.until", err)
			return nil
		}
		return &waitConfig{until: e}
	default:
		ps.nodef(n.ID, "config", "give duration or until")
	}
	return nil
}

func (waitKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

// historyEvents: timer started and fired, and a workflow task.
func (waitKind) historyEvents(*designer.Node, any) int { return 2 + workflowTaskEvents }

func (waitKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*waitConfig)
	now := workflow.Now(ctx)
	target := now.Add(c.duration)
	if c.until != nil {
		t, err := untilTime(ctx, c.until, x.liveScope())
		if err != nil {
			return nodeResult{}, nonRetryable(ErrTypeBadWait, nodeExprErr(x.node.ID, "until", err))
		}
		if err := checkUntilCap(ctx, x.node.ID, now, t); err != nil {
			return nodeResult{}, err
		}
		target = t
	}
	if d := target.Sub(now); d > 0 {
		if err := workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: x.node.ID}).Get(ctx, nil); err != nil {
			return nodeResult{}, err
		}
	}
	return nodeResult{Output: map[string]any{"waited_until": target.UTC().Format(time.RFC3339Nano)}}, nil
}

func untilTime(ctx workflow.Context, e *designer.Expr, scope map[string]any) (time.Time, error) {
	v, err := evalRecorded(ctx, e, scope, designer.WorkflowBudget)
	if err != nil {
		return time.Time{}, err
	}
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case string:
		parsed, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", t)
		}
		return parsed, nil
	case nil:
		return time.Time{}, fmt.Errorf("expression gave null, want an RFC 3339 time")
	default:
		return time.Time{}, fmt.Errorf("expression gave %T, want an RFC 3339 time", v)
	}
}
