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
// is the node id, so DescribeWorkflowExecution's pending activities map back to nodes. An
// empty queue is the run's own.
func (x *nodeExec) activityOptions(ctx workflow.Context, queue string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queue,
		ActivityID:          x.node.ID,
		StartToCloseTimeout: x.pn.timeout,
		RetryPolicy:         x.pn.retry,
		Summary:             x.node.ID,
	})
}

// storeQueueChange is the GetVersion change that moved the activities reading or writing
// the store to the store queue. Runs that scheduled one before keep the run's own queue.
const storeQueueChange = "store-task-queue"

// storeQueue is the task queue for an activity that reads or writes the store: the run's
// queue with StoreQueueSuffix, which only the process holding the store polls, so that a
// worker on another machine never writes to a store of its own. It is "" (the run's queue)
// for runs from before the change.
func storeQueue(ctx workflow.Context) string {
	if workflow.GetVersion(ctx, storeQueueChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return ""
	}
	return StoreTaskQueue(workflow.GetInfo(ctx).TaskQueueName)
}

// runActivity runs a Trellis activity for the node with the node's options and returns
// its output and attempt count. On failure, attempts is read from the error.
func runActivity[T any](ctx workflow.Context, x *nodeExec, name string, args ...any) (T, int, error) {
	return runActivityOn[T](ctx, x, "", name, args...)
}

// runStoreActivity is runActivity for an activity that reads the store (see storeQueue).
func runStoreActivity[T any](ctx workflow.Context, x *nodeExec, name string, args ...any) (T, int, error) {
	return runActivityOn[T](ctx, x, storeQueue(ctx), name, args...)
}

func runActivityOn[T any](ctx workflow.Context, x *nodeExec, queue, name string, args ...any) (T, int, error) {
	var res activityResult[T]
	err := workflow.ExecuteActivity(x.activityOptions(ctx, queue), name, args...).Get(ctx, &res)
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
