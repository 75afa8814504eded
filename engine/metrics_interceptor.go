package engine

import (
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// runMetrics counts interpreter runs started and ended, by graph and status, from workflow
// code: the SDK's handler there is silent during replay, so each run counts once.
type runMetrics struct {
	interceptor.WorkerInterceptorBase
}

func (*runMetrics) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &runMetricsInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type runMetricsInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *runMetricsInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	if workflow.GetInfo(ctx).WorkflowType.Name != WorkflowName || len(in.Args) == 0 {
		return i.Next.ExecuteWorkflow(ctx, in)
	}
	graph := ""
	switch ri := in.Args[0].(type) {
	case RunInput:
		graph = ri.GraphID
	case *RunInput:
		graph = ri.GraphID
	}
	m := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"graph": graph})
	if workflow.GetInfo(ctx).ContinuedExecutionRunID == "" {
		m.Counter(metricRunsStarted).Inc(1)
	}
	out, err := i.Next.ExecuteWorkflow(ctx, in)
	status := RunCompleted
	switch {
	case err == nil:
	case workflow.IsContinueAsNewError(err):
		return out, err // the run goes on in the next execution
	case temporal.IsCanceledError(err):
		status = RunCancelled
	default:
		status = RunFailed
	}
	m.WithTags(map[string]string{"status": status}).Counter(metricRunsEnded).Inc(1)
	return out, err
}

// observeNode records how long node i took, by graph, kind and how it ended. The workflow's
// metrics handler is silent during replay and adds no command, so history is unchanged.
func (r *runState) observeNode(ctx workflow.Context, i int) {
	n := &r.nodes[i]
	if n.StartedAt == nil || n.EndedAt == nil {
		return
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{
		"graph": r.in.GraphID, "kind": r.plan.nodes[i].node.Kind, "status": n.Status,
	}).Timer(metricNodeDuration).Record(n.EndedAt.Sub(*n.StartedAt))
}
