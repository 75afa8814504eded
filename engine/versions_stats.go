package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
)

// VersionOutcome is what visibility tells of one version's runs started in a window: how
// many are in each status, how long the ended ones took, and their llm usage.
type VersionOutcome struct {
	Version int            `json:"version"`
	Runs    map[string]int `json:"runs"`
	// SuccessRate is completed / ended (completed, failed, cancelled); nil before any ended.
	SuccessRate *float64 `json:"success_rate"`
	// DurationP50 and DurationP95 are over runs that ended, in milliseconds; nil before any.
	DurationP50 *int64 `json:"duration_p50_ms"`
	DurationP95 *int64 `json:"duration_p95_ms"`
	// Tokens and Cost add up the runs that report them (runs with llm nodes, once ended).
	Tokens int64   `json:"tokens"`
	Cost   float64 `json:"cost"`
}

// DrainingRun is an open run of a version, for the draining view.
type DrainingRun struct {
	RunID     string    `json:"run_id"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
}

// VersionOpen is a version's runs still open (running, waiting, held, paused), the oldest first.
type VersionOpen struct {
	Version int            `json:"version"`
	Runs    map[string]int `json:"runs"`
	Total   int            `json:"total"`
	Oldest  *DrainingRun   `json:"oldest"`
}

// MaxStatsRuns bounds the runs one outcome report reads from visibility; past it the report
// says it is partial (Truncated).
const MaxStatsRuns = 200_000

// VersionOutcomes reads from Temporal visibility, not from histories, the runs of a graph
// started at or after since (draft test runs aside) and sums them up per version, newest
// version first. truncated says more than MaxStatsRuns matched and only the newest were read.
func (e *Engine) VersionOutcomes(ctx context.Context, graphID string, since time.Time) (out []VersionOutcome, truncated bool, err error) {
	q, err := graphRunsQuery(graphID, fmt.Sprintf("StartTime >= '%s'", since.UTC().Format(time.RFC3339Nano)))
	if err != nil {
		return nil, false, err
	}
	type acc struct {
		VersionOutcome
		durations []int64
	}
	by := map[int]*acc{}
	truncated, err = e.scanRuns(ctx, q, func(r scannedRun) {
		a := by[r.version]
		if a == nil {
			a = &acc{VersionOutcome: VersionOutcome{Version: r.version, Runs: map[string]int{}}}
			by[r.version] = a
		}
		a.Runs[r.status]++
		if r.ended != nil {
			a.durations = append(a.durations, r.ended.Sub(r.started).Milliseconds())
		}
		if r.tokens != nil {
			a.Tokens += *r.tokens
		}
		if r.cost != nil {
			a.Cost += *r.cost
		}
	})
	if err != nil {
		return nil, false, err
	}
	for _, a := range by {
		ended := a.Runs[RunCompleted] + a.Runs[RunFailed] + a.Runs[RunCancelled]
		if ended > 0 {
			rate := float64(a.Runs[RunCompleted]) / float64(ended)
			a.SuccessRate = &rate
		}
		if len(a.durations) > 0 {
			slices.Sort(a.durations)
			a.DurationP50, a.DurationP95 = percentile(a.durations, 50), percentile(a.durations, 95)
		}
		out = append(out, a.VersionOutcome)
	}
	slices.SortFunc(out, func(x, y VersionOutcome) int { return y.Version - x.Version })
	return out, truncated, nil
}

// OpenRuns counts, per version, a graph's runs still open, however old, with the oldest of
// each: the runs that keep a version alive. Newest version first.
func (e *Engine) OpenRuns(ctx context.Context, graphID string) ([]VersionOpen, bool, error) {
	q, err := graphRunsQuery(graphID, "ExecutionStatus = 'Running'")
	if err != nil {
		return nil, false, err
	}
	by := map[int]*VersionOpen{}
	truncated, err := e.scanRuns(ctx, q, func(r scannedRun) {
		o := by[r.version]
		if o == nil {
			o = &VersionOpen{Version: r.version, Runs: map[string]int{}}
			by[r.version] = o
		}
		o.Runs[r.status]++
		o.Total++
		if o.Oldest == nil || r.started.Before(o.Oldest.StartedAt) {
			o.Oldest = &DrainingRun{RunID: r.id, Status: r.status, StartedAt: r.started}
		}
	})
	if err != nil {
		return nil, false, err
	}
	out := make([]VersionOpen, 0, len(by))
	for _, o := range by {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(x, y VersionOpen) int { return y.Version - x.Version })
	return out, truncated, nil
}

// percentile is the nearest-rank p-th percentile of sorted values.
func percentile(sorted []int64, p int) *int64 {
	i := (p*len(sorted)+99)/100 - 1
	v := sorted[max(i, 0)]
	return &v
}

func graphRunsQuery(graphID, extra string) (string, error) {
	if graphID == "" || !safeKeyword.MatchString(graphID) {
		return "", fmt.Errorf("graph id %q: %w", graphID, ErrBadFilter)
	}
	return strings.Join([]string{fmt.Sprintf("WorkflowType = '%s'", WorkflowName), fmt.Sprintf("%s = '%s'", SAGraph, graphID),
		notDraftRuns, extra}, " AND "), nil
}

// scannedRun is one visibility row, decoded.
type scannedRun struct {
	id, status string
	version    int
	started    time.Time
	ended      *time.Time
	tokens     *int64
	cost       *float64
}

// scanRuns hands each run matching q to fn, a page of 1,000 at a time, up to MaxStatsRuns.
func (e *Engine) scanRuns(ctx context.Context, q string, fn func(scannedRun)) (truncated bool, err error) {
	seen := 0
	err = e.eachRun(ctx, q, "list runs", func(ex *workflowpb.WorkflowExecutionInfo) (bool, error) {
		sa := decodeSearchAttributes(ex.GetSearchAttributes())
		r := scannedRun{id: ex.GetExecution().GetWorkflowId(), version: sa.version, status: runStatus(ex.GetStatus(), sa.status),
			started: ex.GetStartTime().AsTime().UTC(), tokens: sa.tokens, cost: sa.cost}
		if ex.GetCloseTime() != nil {
			t := ex.GetCloseTime().AsTime().UTC()
			r.ended = &t
		}
		fn(r)
		if seen++; seen >= MaxStatsRuns {
			truncated = true
		}
		return !truncated, nil
	})
	if err != nil {
		return false, err
	}
	return truncated, nil
}
