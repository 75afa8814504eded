package engine

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"

	"trellis/designer"
)

var rewoundFromKey = temporal.NewSearchAttributeKeyKeyword(SARewoundFrom)

// RewindRequest asks for a run rewound from run RunID at node From. Target is the graph to
// run (nil: the run's own definition) and Version its version. Input, when HasInput, replaces
// the run's input; Outputs correct the outputs of carried-over nodes.
type RewindRequest struct {
	RunID    string
	From     string
	Target   *designer.Graph
	Version  int
	HasInput bool
	Input    any
	Outputs  map[string]any
	By       string
}

// rewindSource is what a rewind reads of the run it starts from.
type rewindSource struct {
	in  RunInput
	run *Run
}

// loadRewindSource reads a run that may be rewound: one that has ended or is held. It reads
// only what a rewind needs (status, node states, the start), not the run's output or links.
func (e *Engine) loadRewindSource(ctx context.Context, runID string) (*rewindSource, error) {
	desc, err := e.c.DescribeWorkflowExecution(ctx, runID, "")
	if err != nil {
		return nil, e.notFound(runID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	sa := decodeSearchAttributes(info.GetSearchAttributes())
	run := &Run{RunID: runID, Draft: sa.draft(), Status: runStatus(info.GetStatus(), sa.status)}
	st, err := e.queryState(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s: read its node states: %w", runID, err)
	}
	run.Nodes = st.Nodes
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		run.Status = st.Status
	}
	in, err := e.startInput(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("run %s: read its start: %w", runID, err)
	}
	if st.Version > 0 && st.Version != in.Version {
		// The run moved to another version (migrate.go): its history has the definition.
		tl, err := e.Timeline(ctx, runID)
		if err != nil {
			return nil, fmt.Errorf("run %s: read the version it moved to: %w", runID, err)
		}
		in.Definition, in.Version = tl.Definition, tl.Version
	}
	switch {
	case run.Draft || in.Batch != nil:
		return nil, &RecoveryError{Reason: RecoveryConflict, Message: fmt.Sprintf("Run %s is a test run or part of a map; it cannot be rewound", runID)}
	case run.Status != RunCompleted && run.Status != RunFailed && run.Status != RunCancelled && run.Status != RunHeld:
		return nil, &RecoveryError{Reason: RecoveryConflict, Message: fmt.Sprintf("Run %s is %s; rewind a run that has ended or is held", runID, run.Status)}
	case len(run.Nodes) == 0:
		return nil, fmt.Errorf("run %s: its node states cannot be read (is a worker running?)", runID)
	}
	return &rewindSource{in: in, run: run}, nil
}

// PreviewRewind says what a rewind of run runID from node from onto target (nil: the run's
// own definition, version 0 then meaning the run's) would reuse and run again.
func (e *Engine) PreviewRewind(ctx context.Context, runID, from string, target *designer.Graph, version int) (*RewindPlan, error) {
	src, err := e.loadRewindSource(ctx, runID)
	if err != nil {
		return nil, err
	}
	if target == nil {
		target, version = &src.in.Definition, src.in.Version
	}
	return planRewind(&src.in.Definition, src.run.Nodes, runID, from, target, version)
}

// Rewind starts a new run that carries over what the plan reuses (with corrections) and
// runs the rest; it returns the new run's id and the plan. Refusals are *RecoveryError:
// conflict for a run still going, invalid for a from missing in the target or a correction
// of a node not carried over.
func (e *Engine) Rewind(ctx context.Context, req RewindRequest) (string, *RewindPlan, error) {
	src, err := e.loadRewindSource(ctx, req.RunID)
	if err != nil {
		return "", nil, err
	}
	target, version := req.Target, req.Version
	if target == nil {
		target, version = &src.in.Definition, src.in.Version
	}
	p, err := planRewind(&src.in.Definition, src.run.Nodes, req.RunID, req.From, target, version)
	if err != nil {
		return "", nil, err
	}
	carried, err := carriedNodes(p, src.run.Nodes, req.Outputs)
	if err != nil {
		return "", nil, err
	}
	input := src.in.Input
	if req.HasInput {
		input = req.Input
	}
	rw := StartRunRequest{GraphID: src.in.GraphID, Version: version, Definition: *target, Input: input,
		StartedBy: req.By, Rewind: &RewindFrom{RunID: req.RunID, Node: req.From, By: req.By, Carried: carried, InputCorrected: req.HasInput}}
	if req.HasInput {
		rw.Rewind.RecordedInput = src.in.Input
	}
	id, err := e.StartRun(ctx, rw)
	if err != nil {
		return "", nil, err
	}
	return id, p, nil
}

// rewoundAs lists the runs rewound from runID, newest first; a failed read lists none (the
// link is a convenience, the run's own state does not depend on it).
func (e *Engine) rewoundAs(ctx context.Context, runID string) []string {
	if !safeKeyword.MatchString(runID) {
		return nil
	}
	resp, err := e.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: e.opts.Namespace, PageSize: 20,
		Query: fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", WorkflowName, SARewoundFrom, runID)})
	if err != nil {
		return nil
	}
	var ids []string
	for _, ex := range resp.GetExecutions() {
		ids = append(ids, ex.GetExecution().GetWorkflowId())
	}
	return ids
}

// startSearchAttributes are a new run's search attributes; a rewound run names its source.
func startSearchAttributes(req StartRunRequest) temporal.SearchAttributes {
	if req.Rewind == nil {
		return runSearchAttributes(req.GraphID, req.Version, req.StartedBy)
	}
	return temporal.NewSearchAttributes(graphKey.ValueSet(req.GraphID), versionKey.ValueSet(int64(req.Version)),
		startedByKey.ValueSet(req.StartedBy), statusKey.ValueSet(RunRunning), rewoundFromKey.ValueSet(req.Rewind.RunID))
}
