package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"trellis/designer"
)

// The run rollup's reconciliation. A run reports its end to the rollup from its own code, so
// a run ended from outside (terminated, its run or execution timeout, a reset that left it)
// stays open there: its version keeps an open run that is not, and its outcome is never
// counted. The reconciliation asks Temporal about the rollup's open rows and records the end
// of those that are closed. trellis doctor runs it (and repairs with --repair); serve runs
// it in the background (ReconcileRollupInBackground).

// RollupStore is what the reconciliation needs of the store (enginestore.Tasks).
type RollupStore interface {
	// OpenRollupRuns pages through the open rows in run id order, after after.
	OpenRollupRuns(ctx context.Context, after string, limit int) ([]designer.RunReport, error)
	// RollupRunStillOpen says whether nothing was recorded for the run since seq.
	RollupRunStillOpen(ctx context.Context, runID string, seq int64) (bool, error)
	// CloseRollupRun records the end of a row still open at seq, keeping seq, so that a
	// later real report still wins; changed is false when the row had moved on.
	CloseRollupRun(ctx context.Context, runID string, seq int64, status string, endedAt time.Time) (changed bool, err error)
	// RecordRunReport and EarliestRollupStart are the backfill's (rollup_backfill.go).
	RunRecorder
	EarliestRollupStart(ctx context.Context) (t time.Time, ok bool, err error)
	RollupHasRun(ctx context.Context, runID string) (bool, error)
}

// RollupFinding is an open row whose run has ended in Temporal, or that Temporal no longer
// has (deleted, or past the namespace's retention).
type RollupFinding struct {
	Run designer.RunReport
	// Closed is Temporal's word for how the run ended ("Terminated"); "" when it is gone.
	Closed string
	// Status is the run status the end is recorded with; EndedAt Temporal's close time,
	// or for a run that is gone the time it was found gone (its close time is lost).
	Status  string
	EndedAt time.Time
	// Repaired says the end was recorded; RepairError why not.
	Repaired    bool
	RepairError string
}

// String is the finding as one line.
func (f RollupFinding) String() string {
	what := fmt.Sprintf("ended (%s) at %s", f.Closed, f.EndedAt.Format(time.RFC3339))
	if f.Closed == "" {
		what = "is no longer known to Temporal (deleted, or past the namespace's retention)"
	}
	s := fmt.Sprintf("open run in the version rollup %s (graph %s, version %d, %s): the run %s without reporting its end",
		f.Run.RunID, f.Run.GraphID, f.Run.Version, f.Run.Status, what)
	switch {
	case f.RepairError != "":
		s += "; not repaired: " + f.RepairError
	case f.Repaired:
		s += "; repaired: recorded as " + f.Status
	}
	return s
}

// RollupCheck is one pass over a page of the rollup's open rows.
type RollupCheck struct {
	Checked  int             // open rows looked at
	Next     string          // the last row's run id, to go on from; "" when the rows ran out
	Findings []RollupFinding // rows whose run ended
}

// errRollupStrangeCluster keeps a pass from closing rows of runs Temporal does not know
// when the namespace has no Trellis runs at all: most likely not serve's cluster.
var errRollupStrangeCluster = errors.New("the Temporal namespace has no Trellis runs at all: is this the cluster and namespace of serve?")

// CheckRollup looks at up to limit open rows of the rollup after the run id after and
// finds those whose run has ended; with repair it records their ends.
func (e *Engine) CheckRollup(ctx context.Context, st RollupStore, after string, limit int, repair bool) (*RollupCheck, error) {
	rows, err := st.OpenRollupRuns(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	chk := &RollupCheck{Checked: len(rows)}
	if len(rows) == limit {
		chk.Next = rows[len(rows)-1].RunID
	}
	gone := 0
	for _, r := range rows {
		f, err := e.rollupEnd(ctx, r)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		// The store is read again after Temporal: an end recorded meanwhile is no finding.
		if open, err := st.RollupRunStillOpen(ctx, r.RunID, r.Seq); err != nil {
			return nil, err
		} else if !open {
			continue
		}
		if f.Closed == "" {
			gone++
		}
		chk.Findings = append(chk.Findings, *f)
	}
	if !repair {
		return chk, nil
	}
	var strange error
	if gone > 0 {
		strange = e.checkKnowsRuns(ctx)
	}
	for i := range chk.Findings {
		f := &chk.Findings[i]
		if f.Closed == "" && strange != nil {
			f.RepairError = strange.Error()
			continue
		}
		if _, err := st.CloseRollupRun(ctx, f.Run.RunID, f.Run.Seq, f.Status, f.EndedAt); err != nil {
			f.RepairError = err.Error()
			continue
		}
		// A row that moved on meanwhile was fixed by its run: nothing is wrong either way.
		f.Repaired = true
	}
	return chk, nil
}

// rollupEnd asks Temporal about an open row's run: nil while it runs, else the finding.
func (e *Engine) rollupEnd(ctx context.Context, r designer.RunReport) (*RollupFinding, error) {
	desc, err := e.c.DescribeWorkflowExecution(ctx, r.RunID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &RollupFinding{Run: r, Status: RunFailed, EndedAt: time.Now().UTC()}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rollup: describe run %s: %w", r.RunID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	st := info.GetStatus()
	if st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, nil
	}
	return &RollupFinding{Run: r, Closed: st.String(), Status: runStatus(st, ""),
		EndedAt: info.GetCloseTime().AsTime().UTC()}, nil
}

// checkKnowsRuns refuses (errRollupStrangeCluster) a namespace without a single run of the
// interpreter, open or closed: rows whose runs it does not know prove nothing there.
func (e *Engine) checkKnowsRuns(ctx context.Context) error {
	resp, err := e.c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: e.opts.Namespace,
		Query: fmt.Sprintf("WorkflowType = '%s'", WorkflowName)})
	if err != nil {
		return fmt.Errorf("count runs: %w", err)
	}
	if resp.GetCount() == 0 {
		return errRollupStrangeCluster
	}
	return nil
}

// ReconcileRollup checks every open row of the rollup, a page of limit at a time.
func (e *Engine) ReconcileRollup(ctx context.Context, st RollupStore, limit int, repair bool) (checked int, findings []RollupFinding, err error) {
	after := ""
	for {
		chk, err := e.CheckRollup(ctx, st, after, limit, repair)
		if err != nil {
			return checked, findings, err
		}
		checked += chk.Checked
		findings = append(findings, chk.Findings...)
		if chk.Next == "" {
			return checked, findings, nil
		}
		after = chk.Next
	}
}

// RollupSchedule is when serve's background reconciliation runs: a first pass First after
// start (runs terminated while serve was down), then one every Every, each over at most
// Rows open rows from where the last stopped, so that a pass costs at most that many
// describes. Zero fields take the defaults: 30 s, 5 minutes, 500 rows.
type RollupSchedule struct {
	First, Every time.Duration
	Rows         int
}

// ReconcileRollupInBackground runs the reconciliation with repair until stop is called
// (stop waits for a pass in progress to end), logging each end it records.
func (e *Engine) ReconcileRollupInBackground(ctx context.Context, st RollupStore, logger *slog.Logger, sched RollupSchedule) (stop func()) {
	if sched.First <= 0 {
		sched.First = 30 * time.Second
	}
	if sched.Every <= 0 {
		sched.Every = 5 * time.Minute
	}
	if sched.Rows <= 0 {
		sched.Rows = 500
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.reconcileRollupLoop(ctx, st, logger, sched)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (e *Engine) reconcileRollupLoop(ctx context.Context, st RollupStore, logger *slog.Logger, sched RollupSchedule) {
	t := time.NewTimer(sched.First)
	defer t.Stop()
	after := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		chk, err := e.CheckRollup(ctx, st, after, sched.Rows, true)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("version rollup: reconcile ended runs", slog.Any("error", err))
		default:
			for _, f := range chk.Findings {
				logRollup(ctx, logger, f.Repaired, f.String(), f.Run.RunID)
			}
			after = chk.Next
		}
		missing, err := e.BackfillRollup(ctx, st, time.Now().Add(-RollupBackfillGrace), sched.Rows, true)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("version rollup: add runs from before it", slog.Any("error", err))
		}
		for _, m := range missing {
			logRollup(ctx, logger, m.Repaired, m.String(), m.Report.RunID)
		}
		t.Reset(sched.Every)
	}
}

// logRollup logs what a pass recorded (info), or could not (warn).
func logRollup(ctx context.Context, logger *slog.Logger, repaired bool, msg, runID string) {
	level := slog.LevelInfo
	if !repaired {
		level = slog.LevelWarn
	}
	logger.Log(ctx, level, msg, slog.String("run_id", runID))
}
