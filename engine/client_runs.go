package engine

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// maxTimelineEvents bounds the history read for one timeline: far above what a run of the
// largest graph writes (estimateHistory keeps runs under Temporal's own limits).
const maxTimelineEvents = 200_000

// Timeline reads a run's history and builds its timeline; for a run still going, activities
// in flight come from DescribeWorkflowExecution. Unknown runs give ErrRunNotFound.
func (e *Engine) Timeline(ctx context.Context, runID string) (*Timeline, error) {
	desc, err := e.c.DescribeWorkflowExecution(ctx, runID, "")
	if err != nil {
		return nil, e.notFound(runID, err)
	}
	events, err := e.history(ctx, runID)
	if err != nil {
		return nil, err
	}
	tl, err := BuildTimeline(events, desc.GetPendingActivities())
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runID, err)
	}
	if tl.RunID == "" {
		tl.RunID = runID
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && tl.EndedAt == nil {
		sa := decodeSearchAttributes(info.GetSearchAttributes())
		tl.Status = runStatus(info.GetStatus(), sa.status)
	}
	return tl, nil
}

// history reads every event of a run, oldest first.
func (e *Engine) history(ctx context.Context, runID string) ([]*historypb.HistoryEvent, error) {
	it := e.c.GetWorkflowHistory(ctx, runID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of run %s: %w", runID, e.notFound(runID, err))
		}
		events = append(events, ev)
		if len(events) > maxTimelineEvents {
			return nil, fmt.Errorf("read history of run %s: more than %d events", runID, maxTimelineEvents)
		}
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("run %s: %w", runID, ErrRunNotFound)
	}
	return events, nil
}

// RunHistory is a run's raw Temporal history as JSON, in the format of `temporal workflow
// show --output json` (which the SDK's replayer reads too).
func (e *Engine) RunHistory(ctx context.Context, runID string) ([]byte, error) {
	events, err := e.history(ctx, runID)
	if err != nil {
		return nil, err
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		return nil, fmt.Errorf("encode history of run %s: %w", runID, err)
	}
	return b, nil
}

// CountRuns counts the runs of a graph, open or closed, subgraph runs included; draft test
// runs do not count.
func (e *Engine) CountRuns(ctx context.Context, graphID string) (int, error) {
	return e.countRuns(ctx, graphID, "")
}

func (e *Engine) countRuns(ctx context.Context, graphID, extra string) (int, error) {
	if graphID == "" || !safeKeyword.MatchString(graphID) {
		return 0, fmt.Errorf("graph id %q: %w", graphID, ErrBadFilter)
	}
	q := []string{fmt.Sprintf("WorkflowType = '%s'", WorkflowName), fmt.Sprintf("%s = '%s'", SAGraph, graphID), notDraftRuns}
	if extra != "" {
		q = append(q, extra)
	}
	resp, err := e.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: e.opts.Namespace, Query: strings.Join(q, " AND ")})
	if err != nil {
		return 0, fmt.Errorf("count runs of %s: %w", graphID, err)
	}
	return int(resp.GetCount()), nil
}

// RunRow is a row of the runs list: the summary and who started the run.
type RunRow struct {
	RunSummary
	StartedBy string `json:"started_by"`
}

// ListRunRows is ListRuns with who started each run, in visibility's order (runs still
// going, then those that ended most recently); the next page token is nil on the last page.
func (e *Engine) ListRunRows(ctx context.Context, f RunFilter) ([]RunRow, []byte, error) {
	q, err := listQuery(f)
	if err != nil {
		return nil, nil, err
	}
	size := f.PageSize
	if size <= 0 || size > 1000 {
		size = 100
	}
	resp, err := e.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: e.opts.Namespace, PageSize: int32(size), NextPageToken: f.PageToken, Query: q})
	if err != nil {
		return nil, nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]RunRow, 0, len(resp.GetExecutions()))
	for _, ex := range resp.GetExecutions() {
		sa := decodeSearchAttributes(ex.GetSearchAttributes())
		r := RunRow{RunSummary: RunSummary{RunID: ex.GetExecution().GetWorkflowId(), Graph: sa.graph, Version: sa.version,
			Status: runStatus(ex.GetStatus(), sa.status), StartedAt: ex.GetStartTime().AsTime().UTC(),
			Tokens: sa.tokens, Cost: sa.cost, Draft: sa.draft()}, StartedBy: sa.startedBy}
		if ex.GetCloseTime() != nil {
			t := ex.GetCloseTime().AsTime().UTC()
			r.EndedAt = &t
		}
		out = append(out, r)
	}
	var next []byte
	if len(resp.GetNextPageToken()) > 0 {
		next = resp.GetNextPageToken()
	}
	return out, next, nil
}

// eachRun hands fn each execution visibility lists for query q, a page of 1,000 at a time,
// until fn answers false or an error, or the pages end; what names the listing in errors.
func (e *Engine) eachRun(ctx context.Context, q, what string, fn func(*workflowpb.WorkflowExecutionInfo) (bool, error)) error {
	var token []byte
	for {
		resp, err := e.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: e.opts.Namespace, PageSize: 1000, NextPageToken: token, Query: q})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, ex := range resp.GetExecutions() {
			if more, err := fn(ex); err != nil || !more {
				return err
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}
