package engine

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// DefaultMaxWait is the longest a wait node may wait when the worker is given no cap
// (Deps.MaxWait); serve --max-wait has the same default (actions.DefaultMaxWait).
const DefaultMaxWait = 365 * 24 * time.Hour

// changeWaitCap: a wait whose until lies further away than the cap fails its node instead of
// setting a timer (issue 18: a literal duration was capped when a run started, an until of
// 100 years was not, as only the run knows the time its expression gives).
const changeWaitCap = "wait-until-cap"

type maxWaitKey struct{}

// waitCapInterceptors put the worker's cap into every workflow's context. Workflow code reads
// it through a SideEffect (waitCap), so a replay on a worker with another cap sees the cap
// the run first saw.
func waitCapInterceptors(max time.Duration) []interceptor.WorkerInterceptor {
	if max <= 0 {
		max = DefaultMaxWait
	}
	return []interceptor.WorkerInterceptor{&waitCapWorker{max: max}}
}

type waitCapWorker struct {
	interceptor.WorkerInterceptorBase
	max time.Duration
}

func (w *waitCapWorker) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &waitCapInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, max: w.max}
}

type waitCapInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	max time.Duration
}

func (w *waitCapInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	return w.Next.ExecuteWorkflow(workflow.WithValue(ctx, maxWaitKey{}, w.max), in)
}

// waitCap is the longest wait of this run, recorded in its history.
func waitCap(ctx workflow.Context) (time.Duration, error) {
	var max time.Duration
	err := workflow.SideEffect(ctx, func(ctx workflow.Context) any {
		d, _ := ctx.Value(maxWaitKey{}).(time.Duration)
		if d <= 0 {
			d = DefaultMaxWait
		}
		return d
	}).Get(&max)
	return max, err
}

// checkUntilCap fails node's wait when until lies further from now than the cap; runs from
// before the change wait as they did.
func checkUntilCap(ctx workflow.Context, nodeID string, now, until time.Time) error {
	if workflow.GetVersion(ctx, changeWaitCap, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	max, err := waitCap(ctx)
	if err != nil {
		return err
	}
	if d := until.Sub(now); d > max {
		return nonRetryable(ErrTypeBadWait, fmt.Sprintf("node %s: until gives %s, %s from now, longer than this server allows a wait (%s, serve --max-wait)",
			nodeID, until.UTC().Format(time.RFC3339), roughDuration(d), roughDuration(max)))
	}
	return nil
}

// roughDuration writes a long duration in days, a short one as Go does.
func roughDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int64(d/(24*time.Hour)))
	}
	return d.Round(time.Second).String()
}
