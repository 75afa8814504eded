package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// ErrBatchNotFound: no batch has that id.
var ErrBatchNotFound = errors.New("batch not found")

// BatchFilter picks runs for a batch as the runs list does, with a window on the start time.
type BatchFilter struct {
	RunFilter
	StartedAfter  *time.Time
	StartedBefore *time.Time
}

func (f BatchFilter) query() (string, error) {
	q, err := listQuery(f.RunFilter)
	if err != nil {
		return "", err
	}
	if f.StartedAfter != nil {
		q += fmt.Sprintf(" AND StartTime >= '%s'", f.StartedAfter.UTC().Format(time.RFC3339Nano))
	}
	if f.StartedBefore != nil {
		q += fmt.Sprintf(" AND StartTime < '%s'", f.StartedBefore.UTC().Format(time.RFC3339Nano))
	}
	return q, nil
}

// CountMatching counts the runs a filter matches.
func (e *Engine) CountMatching(ctx context.Context, f BatchFilter) (int, error) {
	q, err := f.query()
	if err != nil {
		return 0, err
	}
	resp, err := e.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: e.opts.Namespace, Query: q})
	if err != nil {
		return 0, fmt.Errorf("count runs: %w", err)
	}
	return int(resp.GetCount()), nil
}

// MatchingRunIDs lists the ids of the runs a filter matches, at most limit of them.
func (e *Engine) MatchingRunIDs(ctx context.Context, f BatchFilter, limit int) ([]string, error) {
	q, err := f.query()
	if err != nil {
		return nil, err
	}
	var ids []string
	if limit < 1 {
		return ids, nil
	}
	err = e.eachRun(ctx, q, "list runs", func(ex *workflowpb.WorkflowExecutionInfo) (bool, error) {
		ids = append(ids, ex.GetExecution().GetWorkflowId())
		return len(ids) < limit, nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// StartBatch starts a batch workflow and returns its id.
func (e *Engine) StartBatch(ctx context.Context, in BatchInput) (string, error) {
	id, err := newRunID("batch-")
	if err != nil {
		return "", err
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = time.Now().UTC()
	}
	_, err = e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             e.opts.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         fmt.Sprintf("%s of %d runs by %s", in.Action, len(in.RunIDs), in.By),
	}, BatchWorkflowName, in)
	if err != nil {
		return "", fmt.Errorf("start batch: %w", err)
	}
	return id, nil
}

// GetBatch reads a batch's progress: from the workflow's query while it runs, from its
// result once it has ended.
func (e *Engine) GetBatch(ctx context.Context, id string) (*BatchProgress, error) {
	if !strings.HasPrefix(id, "batch-") || !safeKeyword.MatchString(id) {
		return nil, fmt.Errorf("batch %q: %w", id, ErrBatchNotFound)
	}
	desc, err := e.c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("batch %s: %w", id, ErrBatchNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", id, err)
	}
	var p BatchProgress
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		qctx, cancel := context.WithTimeout(ctx, e.opts.QueryTimeout)
		defer cancel()
		v, err := e.c.QueryWorkflow(qctx, id, "", BatchProgressQuery)
		if err == nil {
			err = v.Get(&p)
		}
		if err != nil {
			// The worker did not answer in time (busy, or restarting): the batch is running,
			// its counts are not known this moment. The caller polls again.
			return &BatchProgress{BatchID: id, State: BatchRunning, ResultsPartial: true,
				CreatedAt: desc.GetWorkflowExecutionInfo().GetStartTime().AsTime()}, nil
		}
		return &p, nil
	}
	if err := e.c.GetWorkflow(ctx, id, "").Get(ctx, &p); err != nil {
		return nil, fmt.Errorf("batch %s: %w", id, err)
	}
	return &p, nil
}

// CancelBatch stops a batch: no new runs are acted on; those in flight finish.
func (e *Engine) CancelBatch(ctx context.Context, id string) error {
	if _, err := e.GetBatch(ctx, id); err != nil {
		return err
	}
	err := e.c.CancelWorkflow(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("batch %s: %w", id, ErrBatchNotFound)
	}
	return err
}
