package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"trellis/designer"
)

// The rollup's backfill: runs of published versions that started before the rollup existed
// never report to it (their first workflow task took the old branch of changeRunRollup).
// Those Temporal still has (open ones, and closed ones within the namespace's retention,
// a day on the embedded server) are added from visibility: graph, version and live status
// from the search attributes, a closed one's end as the reconciliation records it, its
// tokens and cost when the attributes carry them, no per-node figures. An open one is added
// at seq 0, so the reconciliation records its end later.
//
// Which runs: those that started before the rollup's earliest row. Every run that reports
// started after the build that brought the rollup, and a run added here lowers that bound,
// so once a pass has added them all the query finds none. Runs are added newest first, so
// a pass cut short (a limit, an error) leaves only older runs, which the next pass finds.

// RollupBackfillGrace: the backfill leaves alone runs younger than this, which may not have
// reported their start yet.
const RollupBackfillGrace = time.Hour

// RollupMissing is a run of a published version that the rollup does not have.
type RollupMissing struct {
	Report designer.RunReport
	// Repaired says it was added; RepairError why not.
	Repaired    bool
	RepairError string
}

// String is the finding as one line.
func (m RollupMissing) String() string {
	r := m.Report
	s := fmt.Sprintf("run %s (graph %s, version %d, %s, started %s) is not in the version rollup: it started before the rollup existed",
		r.RunID, r.GraphID, r.Version, r.Status, r.StartedAt.Format(time.RFC3339))
	switch {
	case m.RepairError != "":
		s += "; not repaired: " + m.RepairError
	case m.Repaired:
		s += "; repaired: added"
	}
	return s
}

// BackfillRollup finds the runs the rollup lacks (see above) among those that started
// before startedBefore too (a run that has just started may not have reported yet), and
// with repair adds the newest limit of them (limit < 1: all).
func (e *Engine) BackfillRollup(ctx context.Context, st RollupStore, startedBefore time.Time, limit int, repair bool) ([]RollupMissing, error) {
	if first, ok, err := st.EarliestRollupStart(ctx); err != nil {
		return nil, err
	} else if ok && first.Before(startedBefore) {
		startedBefore = first
	}
	// Visibility keeps microseconds: the earliest run's own start must not be before it.
	startedBefore = startedBefore.Truncate(time.Microsecond)
	q := fmt.Sprintf("WorkflowType = '%s' AND %s > %d AND StartTime < '%s'", WorkflowName, SAVersion, DraftVersion,
		startedBefore.UTC().Format(time.RFC3339Nano))
	var out []RollupMissing
	err := e.eachRun(ctx, q, "list runs from before the rollup", func(ex *workflowpb.WorkflowExecutionInfo) (bool, error) {
		id := ex.GetExecution().GetWorkflowId()
		sa := decodeSearchAttributes(ex.GetSearchAttributes())
		// A subgraph's or a map batch's run (an id with a dot) counts within its parent.
		if strings.Contains(id, ".") || sa.graph == "" || sa.version < 1 {
			return true, nil
		}
		if has, err := st.RollupHasRun(ctx, id); err != nil || has {
			return err == nil, err
		}
		rep := designer.RunReport{RunID: id, GraphID: sa.graph, Version: sa.version,
			Status: runStatus(ex.GetStatus(), sa.status), StartedAt: ex.GetStartTime().AsTime().UTC()}
		if ex.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			end := ex.GetCloseTime().AsTime().UTC()
			rep.EndedAt, rep.Tokens, rep.Cost = &end, sa.tokens, sa.cost
		}
		out = append(out, RollupMissing{Report: rep})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	// Newest first (by start, then id, for a stable order); a reset run's older executions
	// share its id: the first listed, the current one, is kept.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Report, out[j].Report
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.After(b.StartedAt)
		}
		return a.RunID < b.RunID
	})
	out = firstOfEachRun(out)
	if !repair {
		return out, nil
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		// Seq 0: any report of the run itself comes later and wins; added twice is a no-op.
		if err := st.RecordRunReport(ctx, out[i].Report); err != nil {
			out[i].RepairError = err.Error()
			// Older runs are not added past a gap, or the next pass's bound would skip it.
			for j := i + 1; j < len(out); j++ {
				out[j].RepairError = "not tried after the error above"
			}
			break
		}
		out[i].Repaired = true
	}
	return out, nil
}

// firstOfEachRun keeps the first entry of each run id.
func firstOfEachRun(ms []RollupMissing) []RollupMissing {
	seen := map[string]bool{}
	out := ms[:0]
	for _, m := range ms {
		if !seen[m.Report.RunID] {
			seen[m.Report.RunID] = true
			out = append(out, m)
		}
	}
	return out
}
