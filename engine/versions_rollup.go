package engine

import (
	"context"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// changeRunRollup: a run of a published version reports itself to the store's run rollup
// (run_rollup) when it starts, when its live status or its version changes (not waiting for
// the store), and when it ends (waiting, so that the end is recorded before the run closes).
// The Versions tab sums the rollup instead of reading visibility for every run.
//
// Version 2 (rollupHere) records each report with a local activity, in the workflow task
// that makes it: on serve's worker, which holds the store, the end no longer costs an
// activity round trip and one more workflow task before the run closes. A worker without
// the store (trellis worker) answers that it kept nothing, and the run sends the report to
// the store queue as version 1 does; the choice is the activity's recorded result, so a
// replay on any worker takes it again.
const changeRunRollup = "run-rollup"

const (
	activityRecordRun = "RecordRun"
	// activityRecordRunHere is the local activity of version 2: it reports whether it kept
	// the report, false on a worker away from the store.
	activityRecordRunHere = "RecordRunHere"
	rollupHere            = 2
)

// RunRecorder keeps runs' reports (enginestore over run_rollup); a TaskStore that is also a
// RunRecorder receives them, any other leaves them unrecorded.
type RunRecorder interface {
	RecordRunReport(ctx context.Context, r designer.RunReport) error
}

func init() {
	registerStoreActivity(activityRecordRun, func(d *Deps) any {
		return func(ctx context.Context, r designer.RunReport) error { return recordRun(ctx, d, r) }
	})
	registerActivity(activityRecordRunHere, func(d *Deps) any {
		return func(ctx context.Context, r designer.RunReport) (bool, error) {
			if d.Remote {
				return false, nil // the store queue's worker keeps it
			}
			return true, recordRun(ctx, d, r)
		}
	})
}

// recordRun hands a report to the store, when the worker's TaskStore keeps reports (with
// none, no store queue would have a recorder either).
func recordRun(ctx context.Context, d *Deps, r designer.RunReport) error {
	if rec, ok := d.Tasks.(RunRecorder); ok {
		return rec.RecordRunReport(ctx, r)
	}
	return nil
}

// rollupState is what a run last reported.
type rollupState struct {
	on      bool
	here    bool // record with activityRecordRunHere (version rollupHere)
	seq     int64
	status  string
	version int
}

// rollupStart turns the reports on for a run of a published version (not a draft test run,
// a subgraph's child or a map's batch) and reports it running.
func (r *runState) rollupStart(ctx workflow.Context) {
	if r.in.Batch != nil || r.in.Version < 1 || strings.Contains(r.in.RunID, ".") {
		return
	}
	v := workflow.GetVersion(ctx, changeRunRollup, workflow.DefaultVersion, rollupHere)
	if v == workflow.DefaultVersion {
		return
	}
	r.rollup.on, r.rollup.here = true, v >= rollupHere
	r.report(ctx, false)
}

// report sends the run's status and version when either changed since the last report; end
// sends the end (with the llm usage) and waits until the store has it.
func (r *runState) report(ctx workflow.Context, end bool) {
	if !r.rollup.on || !end && r.rollup.status == r.status && r.rollup.version == r.in.Version {
		return
	}
	r.rollup.seq++
	r.rollup.status, r.rollup.version = r.status, r.in.Version
	rep := designer.RunReport{RunID: r.in.RunID, GraphID: r.in.GraphID, Version: r.in.Version, Status: r.status, Seq: r.rollup.seq,
		StartedAt: workflow.GetInfo(ctx).WorkflowStartTime.UTC()}
	if end {
		rep.EndedAt = r.now(ctx)
		if u, ok := r.usage(); ok {
			tokens := u.Tokens()
			rep.Tokens = &tokens
			if u.HasCost {
				rep.Cost = &u.Cost
			}
		}
		rep.Nodes = r.nodeReports()
	}
	if !r.rollup.here {
		r.sendToStore(ctx, rep, end)
		return
	}
	f := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: 10 * time.Second,
		// One attempt: a failed write goes to the store queue, which retries for longer.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	}), activityRecordRunHere, rep)
	send := func(ctx workflow.Context) {
		var kept bool
		if err := f.Get(ctx, &kept); err != nil {
			workflow.GetLogger(ctx).Warn("record the run's report here; the store queue records it", "error", err)
		} else if kept {
			return
		}
		r.sendToStore(ctx, rep, end)
	}
	if end {
		send(ctx)
		return
	}
	workflow.Go(ctx, send)
}

// sendToStore sends a report to the store queue; the end waits until the store has it.
func (r *runState) sendToStore(ctx workflow.Context, rep designer.RunReport, end bool) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           storeQueue(ctx),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute},
		Summary: "rollup " + rep.Status,
	})
	f := workflow.ExecuteActivity(actx, activityRecordRun, rep)
	if end {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("record the run's end", "error", err)
		}
	}
}

// nodeReports lists the nodes that ran (completed or failed), in document order.
func (r *runState) nodeReports() []designer.NodeReport {
	var out []designer.NodeReport
	for i, pn := range r.plan.nodes {
		n := &r.nodes[i].NodeState
		if n.Status != NodeCompleted && n.Status != NodeFailed || n.ReusedFrom != "" {
			continue
		}
		nr := designer.NodeReport{Node: pn.node.ID, Failed: n.Status == NodeFailed || n.Port == designer.PortError}
		if n.StartedAt != nil && n.EndedAt != nil {
			ms := n.EndedAt.Sub(*n.StartedAt).Milliseconds()
			nr.DurationMs = &ms
		}
		if pn.node.Kind == designer.KindLLM {
			if u, ok := NodeUsage(n.Output); ok && u.HasCost {
				c := u.Cost
				nr.Cost = &c
			}
		}
		out = append(out, nr)
	}
	return out
}

// bookkeepingActivities are activities of the run itself, not of a node: the timeline
// leaves them out.
var bookkeepingActivities = map[string]bool{activityRecordRun: true, activityRecordRunHere: true, activityMoveTasks: true}
