package engine

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// runChild runs def as the child run childID of x's run and waits for its output. The
// parent's cancellation cancels the child. The child of a draft test run is a draft run too
// (version 0, its id starts "draft-" as the parent's does), so that it never counts as a run
// of the version it runs; search attributes and input are not matched on replay, so runs in
// flight replay unchanged. summary is what Temporal's UI shows for it.
func runChild(ctx workflow.Context, x *nodeExec, childID, graph string, version int, def designer.Graph, input any, summary string) (any, error) {
	if x.r.in.Version == DraftVersion {
		version = DraftVersion
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            childID,
		WaitForCancellation:   true,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: runSearchAttributes(graph, version, x.r.in.StartedBy),
		StaticSummary:         summary,
	})
	in := RunInput{RunID: childID, GraphID: graph, Version: version, Definition: def,
		Input: input, StartedBy: x.r.in.StartedBy}
	var out any
	err := workflow.ExecuteChildWorkflow(cctx, WorkflowName, in).Get(ctx, &out)
	return out, err
}
