package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// A batch carries out one operator action on many runs (POST /runs/bulk) as a workflow of
// its own, so that it survives a restart of serve and can be watched and cancelled: chunks
// of runs go to an activity, a few chunks at a time.
const (
	BatchWorkflowName  = "trellis.batch"
	BatchProgressQuery = "progress"
	activityBatchChunk = "BatchChunk"
	// batchChunk is how many runs one activity acts on; it keeps a 10,000-run batch at a
	// few hundred activities, far under Temporal's history limits.
	batchChunk = 20
	// DefaultBatchConcurrency is how many chunks are in flight at once.
	DefaultBatchConcurrency = 4
	// maxBatchResults bounds the results a progress answer lists in full; past it only
	// the failures are listed (the counts stay exact), to keep payloads small.
	maxBatchResults = 2000
	maxBatchError   = 200
	// batchRunTimeout bounds the action on one run (a pause waits for the run's worker).
	batchRunTimeout = 30 * time.Second
)

// Batch actions.
const (
	BatchCancel    = "cancel"
	BatchPause     = "pause"
	BatchResume    = "resume"
	BatchRetryHeld = "retry_held"
	// BatchMigrate moves each run to Target's version; BatchRewind rewinds each from
	// Target.From onto Target's version (batch_target.go).
	BatchMigrate = "migrate"
	BatchRewind  = "rewind"
)

// Batch states.
const (
	BatchRunning   = "running"
	BatchCompleted = "completed"
	BatchCancelled = "cancelled"
)

// BatchInput is what a batch does: Action on each of RunIDs, as By, with Comment.
type BatchInput struct {
	Action      string    `json:"action"`
	RunIDs      []string  `json:"run_ids"`
	Comment     string    `json:"comment,omitempty"`
	By          string    `json:"by"`
	Concurrency int       `json:"concurrency,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Target is the version a migrate or rewind batch goes to; chunks read it from the
	// batch's start rather than carry the definition each.
	Target *BatchTarget `json:"target,omitempty"`
}

// BatchResult is what happened to one run.
type BatchResult struct {
	RunID string `json:"run_id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// NewRunID is the run a rewind started.
	NewRunID string `json:"new_run_id,omitempty"`
}

// BatchProgress is a batch as GET /batches/{id} shows it. Done counts the runs acted on,
// Failed those refused or failed; Results lists them (only the failures past 2,000 runs,
// with ResultsPartial set).
type BatchProgress struct {
	BatchID        string        `json:"batch_id"`
	Action         string        `json:"action"`
	By             string        `json:"by"`
	CreatedAt      time.Time     `json:"created_at"`
	Total          int           `json:"total"`
	Done           int           `json:"done"`
	Failed         int           `json:"failed"`
	State          string        `json:"state"`
	Results        []BatchResult `json:"results"`
	ResultsPartial bool          `json:"results_partial,omitempty"`
}

// batchChunkInput is one activity's share.
type batchChunkInput struct {
	Action  string   `json:"action"`
	RunIDs  []string `json:"run_ids"`
	Comment string   `json:"comment,omitempty"`
	By      string   `json:"by"`
}

func init() {
	registerActivity(activityBatchChunk, func(*Deps) any { return batchChunkActivity })
}

// BatchWorkflow runs a batch. Cancelling it stops new chunks; chunks in flight finish, so
// every run it lists was acted on once.
func BatchWorkflow(ctx workflow.Context, in BatchInput) (BatchProgress, error) {
	p := BatchProgress{BatchID: workflow.GetInfo(ctx).WorkflowExecution.ID, Action: in.Action, By: in.By,
		CreatedAt: in.CreatedAt, Total: len(in.RunIDs), State: BatchRunning}
	var results []BatchResult
	if err := workflow.SetQueryHandler(ctx, BatchProgressQuery, func() (BatchProgress, error) {
		return p.withResults(results), nil
	}); err != nil {
		return p, err
	}
	conc := in.Concurrency
	if conc <= 0 {
		conc = DefaultBatchConcurrency
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	actx := workflow.WithActivityOptions(dctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	sem := workflow.NewSemaphore(ctx, int64(conc))
	wg := workflow.NewWaitGroup(dctx)
	for start := 0; start < len(in.RunIDs); start += batchChunk {
		if ctx.Err() != nil || sem.Acquire(ctx, 1) != nil {
			p.State = BatchCancelled
			break
		}
		chunk := in.RunIDs[start:min(start+batchChunk, len(in.RunIDs))]
		wg.Add(1)
		workflow.Go(dctx, func(gctx workflow.Context) {
			defer wg.Done()
			defer sem.Release(1)
			var got []BatchResult
			err := workflow.ExecuteActivity(actx, activityBatchChunk, batchChunkInput{Action: in.Action, RunIDs: chunk,
				Comment: in.Comment, By: in.By}).Get(gctx, &got)
			if err != nil {
				got = got[:0]
				for _, id := range chunk {
					got = append(got, BatchResult{RunID: id, Error: clip(err.Error(), maxBatchError)})
				}
			}
			for _, r := range got {
				if r.OK {
					p.Done++
				} else {
					p.Failed++
				}
			}
			results = append(results, got...)
		})
	}
	wg.Wait(dctx)
	if p.State == BatchRunning {
		p.State = BatchCompleted
	}
	return p.withResults(results), nil
}

// withResults is p listing results, or only the failures past maxBatchResults.
func (p BatchProgress) withResults(results []BatchResult) BatchProgress {
	if len(results) <= maxBatchResults {
		p.Results = append([]BatchResult{}, results...)
		return p
	}
	p.Results, p.ResultsPartial = []BatchResult{}, true
	for _, r := range results {
		if !r.OK && len(p.Results) < maxBatchResults {
			p.Results = append(p.Results, r)
		}
	}
	return p
}

// batchChunkActivity acts on a chunk of runs, one after the other. Its heartbeat carries the
// results so far, so that a retry (after a worker restart) goes on where it stopped rather
// than act on a run twice.
func batchChunkActivity(ctx context.Context, in batchChunkInput) ([]BatchResult, error) {
	var done []BatchResult
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &done)
	}
	info := activity.GetInfo(ctx)
	e := New(activity.GetClient(ctx), Options{Namespace: info.Namespace})
	for _, id := range in.RunIDs[len(done):] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := BatchResult{RunID: id, OK: true}
		rctx, cancel := context.WithTimeout(ctx, batchRunTimeout)
		var err error
		switch in.Action {
		case BatchMigrate, BatchRewind:
			r.NewRunID, err = e.actOnRunTo(rctx, in, info.WorkflowExecution.ID, id)
		default:
			err = e.actOnRun(rctx, in, id)
		}
		cancel()
		if err != nil {
			r.OK, r.Error = false, clip(err.Error(), maxBatchError)
		}
		done = append(done, r)
		activity.RecordHeartbeat(ctx, done)
	}
	return done, nil
}

// actOnRun does the batch's action to one run.
func (e *Engine) actOnRun(ctx context.Context, in batchChunkInput, runID string) error {
	switch in.Action {
	case BatchCancel:
		reason := in.Comment
		if reason == "" {
			reason = "bulk cancel by " + in.By
		}
		err := e.CancelRun(ctx, runID, reason)
		if errors.Is(err, ErrRunClosed) {
			// Already cancelled is what the batch wants: a restart may have cut the chunk off
			// after the cancel and before its result was recorded, so the retry finds it so.
			if run, gerr := e.GetRun(ctx, runID); gerr == nil && run.Status == RunCancelled {
				return nil
			} else if gerr == nil {
				return fmt.Errorf("the run had already ended (%s)", run.Status)
			}
			return errors.New("the run had already ended")
		}
		return err
	case BatchPause:
		return e.PauseRun(ctx, runID, in.By, in.Comment)
	case BatchResume:
		return e.ResumeRun(ctx, runID, in.By, in.Comment)
	case BatchRetryHeld:
		run, err := e.GetRun(ctx, runID)
		if err != nil {
			return err
		}
		held := 0
		for _, id := range sortedNodeIDs(run.Nodes) {
			if run.Nodes[id].Status != NodeHeld {
				continue
			}
			held++
			if _, err := e.ActOnIncident(ctx, runID, IncidentRequest{Node: id, Action: ActionRetry, By: in.By, Comment: in.Comment}); err != nil {
				return err
			}
		}
		if held == 0 {
			return errors.New("no node of the run is held")
		}
		return nil
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown batch action %q", in.Action), "BadBatch", nil)
}

func sortedNodeIDs(nodes map[string]NodeState) []string {
	return slices.Sorted(maps.Keys(nodes))
}
