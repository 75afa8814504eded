package engine

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// activityResult is what Trellis activities return: the node's output and the attempt that
// produced it, so the workflow can show attempts without asking the server.
type activityResult[T any] struct {
	Output  T     `json:"output"`
	Attempt int32 `json:"attempt"`
}

func resultOf[T any](ctx context.Context, out T) activityResult[T] {
	return activityResult[T]{Output: out, Attempt: activity.GetInfo(ctx).Attempt}
}

// activityOptions applies the node's retry policy and per-attempt timeout. The activity id
// is the node id, so DescribeWorkflowExecution's pending activities map back to nodes.
func (x *nodeExec) activityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          x.node.ID,
		StartToCloseTimeout: x.pn.timeout,
		RetryPolicy:         x.pn.retry,
		Summary:             x.node.ID,
	})
}

// runActivity runs a Trellis activity for the node with the node's options and returns
// its output and attempt count. On failure, attempts is read from the error.
func runActivity[T any](ctx workflow.Context, x *nodeExec, name string, args ...any) (T, int, error) {
	var res activityResult[T]
	err := workflow.ExecuteActivity(x.activityOptions(ctx), name, args...).Get(ctx, &res)
	if err != nil {
		var zero T
		return zero, attemptsOf(err, x.pn.retry.MaximumAttempts), err
	}
	return res.Output, max(int(res.Attempt), 1), nil
}

// localActivityOptions are for pure, in-process work such as transform: one attempt (the
// same input gives the same error), bounded time.
func localActivityOptions(ctx workflow.Context, nodeID string) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:                nodeID,
	})
}
