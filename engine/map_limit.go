package engine

import (
	"fmt"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// The most items a map node may fan out is the worker's (serve --max-map-items), default
// MaxMapItems. It reaches workflow code as the wait cap does (wait_cap.go): an interceptor
// puts it in the context and the map records it in a SideEffect, so a replay on a worker
// with another limit sees the limit the run first saw.
const (
	// changeMapLimit: the limit is the worker's, recorded; maps of runs from before it was
	// a flag check the constant, and record nothing.
	changeMapLimit = "map-items-limit"
	// MaxMapItemsCeiling is the most --max-map-items may allow: batches keep each history
	// small, but the map's output carries every item's output in one event.
	MaxMapItemsCeiling = 100_000
)

type maxMapItemsKey struct{}

// mapLimitInterceptors put the worker's limit into every workflow's context.
func mapLimitInterceptors(limit int) []interceptor.WorkerInterceptor {
	if limit <= 0 {
		limit = MaxMapItems
	}
	return []interceptor.WorkerInterceptor{&mapLimitWorker{limit: limit}}
}

type mapLimitWorker struct {
	interceptor.WorkerInterceptorBase
	limit int
}

func (w *mapLimitWorker) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &mapLimitInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, limit: w.limit}
}

type mapLimitInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	limit int
}

func (w *mapLimitInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	return w.Next.ExecuteWorkflow(workflow.WithValue(ctx, maxMapItemsKey{}, w.limit), in)
}

// checkMapItems fails node when it has more items than this run's limit allows.
func checkMapItems(ctx workflow.Context, nodeID string, n int) error {
	limit, flag := MaxMapItems, ""
	if workflow.GetVersion(ctx, changeMapLimit, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		err := workflow.SideEffect(ctx, func(ctx workflow.Context) any {
			l, _ := ctx.Value(maxMapItemsKey{}).(int)
			if l <= 0 {
				l = MaxMapItems
			}
			return l
		}).Get(&limit)
		if err != nil {
			return err
		}
		flag = " (serve --max-map-items)"
	}
	if n > limit {
		return nonRetryable(ErrTypeMapItems, fmt.Sprintf("node %s has %d items, more than the limit of %d%s", nodeID, n, limit, flag))
	}
	return nil
}
