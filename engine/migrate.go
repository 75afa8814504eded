package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// changeMigrate: a run with the recovery change takes the "migrate" update, which moves it
// to a newer version of its graph between node completions. Runs from before the change do
// not know the update.
const changeMigrate = "migrate-runs"

// UpdateMigrate is the workflow update that moves a run to another version.
const UpdateMigrate = "migrate"

// ActionMigrate is the operation a move records on the run.
const ActionMigrate = "migrate"

// activityMoveTasks moves a run's open tasks to the version it moved to.
const activityMoveTasks = "MoveRunTasks"

// MigrateRequest is the argument of the "migrate" update: the version to move to and its
// definition (the run carries the definition it runs, as at its start).
type MigrateRequest struct {
	Version    int            `json:"version"`
	Definition designer.Graph `json:"definition"`
	By         string         `json:"by"`
	Comment    string         `json:"comment,omitempty"`
}

// MigrateResult is the answer of the "migrate" update.
type MigrateResult struct {
	From    int `json:"from"`
	Version int `json:"version"`
}

// MigrationError is a move a run refuses because it is incompatible with the target: each
// problem names a node. Nothing was changed.
type MigrationError struct {
	Problems []designer.Problem
}

func (e *MigrationError) Error() string {
	return fmt.Sprintf("the run cannot move: %s", problemString(e.Problems[0]))
}

const refusedIncompatible = "MigrationIncompatible"

// MigrationProblems says why a run on cur, whose nodes are in the states given, cannot move
// to target: every node that has started or finished must exist in target with the same id
// and kind, and a map must not be part way through its items. Empty when it can move.
// Problems come in cur's document order, so they read the same every time.
func MigrationProblems(cur *designer.Graph, nodes map[string]NodeState, target *designer.Graph) []designer.Problem {
	problems := []designer.Problem{}
	add := func(node, format string, args ...any) {
		problems = append(problems, designer.Problem{Node: node, Message: fmt.Sprintf(format, args...)})
	}
	for _, n := range cur.Nodes {
		st := nodes[n.ID].Status
		if st == "" || st == NodePending || st == NodeSkipped {
			continue
		}
		t, ok := target.NodeByID(n.ID)
		switch {
		case !ok:
			add(n.ID, "it is %s but is not in the target version", st)
		case t.Kind != n.Kind:
			add(n.ID, "it is %s as a node of kind %s, but is of kind %s in the target version", st, n.Kind, t.Kind)
		case n.Kind == designer.KindMap && (st == NodeRunning || st == NodeWaiting):
			add(n.ID, "this map is part way through its items; move the run once it has finished")
		}
	}
	if _, err := planCached(target); err != nil {
		add("", "the target version cannot run: %v", err)
	}
	return problems
}

// pendingMigration is a move the handler accepted and the main loop has yet to apply.
type pendingMigration struct {
	req     MigrateRequest
	applied bool
	err     error
}

// setupMigrate registers the "migrate" update on a run with the recovery change.
func (r *runState) setupMigrate(ctx workflow.Context) error {
	if !r.enabled || workflow.GetVersion(ctx, changeMigrate, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateMigrate, r.migrate, workflow.UpdateHandlerOptions{
		Validator:   func(ctx workflow.Context, req MigrateRequest) error { return r.checkMigrate(req) },
		Description: "an operator's move of the run to a newer version",
	})
}

// checkMigrate is the "migrate" validator: it reads state and never changes it.
func (r *runState) checkMigrate(req MigrateRequest) error {
	if err := r.checkOperator(req.By, req.Comment); err != nil {
		return err
	}
	switch {
	case r.migration != nil:
		return refuseAction(refusedConflict, "Run %s is already moving to version %d", r.in.RunID, r.migration.req.Version)
	case req.Version <= r.in.Version:
		return refuseAction(refusedBad, "Run %s is on version %d; it moves only to a newer version, not %d", r.in.RunID, r.in.Version, req.Version)
	}
	st, _ := r.snapshot()
	if ps := MigrationProblems(&r.in.Definition, st.Nodes, &req.Definition); len(ps) > 0 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("Run %s cannot move to version %d", r.in.RunID, req.Version),
			refusedIncompatible, nil, ps)
	}
	return nil
}

// migrate is the "migrate" handler: the main loop applies the move at its next step, between
// node completions, and the handler answers once it has.
func (r *runState) migrate(ctx workflow.Context, req MigrateRequest) (MigrateResult, error) {
	if err := r.checkMigrate(req); err != nil {
		return MigrateResult{}, err
	}
	from := r.in.Version
	m := &pendingMigration{req: req}
	r.migration = m
	r.kick.SendAsync(true)
	if err := workflow.Await(ctx, func() bool { return m.applied || m.err != nil }); err != nil {
		return MigrateResult{}, err
	}
	if m.err != nil {
		return MigrateResult{}, m.err
	}
	return MigrateResult{From: from, Version: req.Version}, nil
}

// applyMigration moves the run to the pending migration's definition: nodes that started or
// finished keep their state (and nodes in flight go on, reporting under their new index),
// skipped and pending ones are decided afresh from the new edges.
func (r *runState) applyMigration(ctx workflow.Context, done workflow.Channel) error {
	m := r.migration
	defer func() { r.migration = nil }()
	if r.stopping {
		m.err = refuseAction(refusedConflict, "Run %s ended before it could move", r.in.RunID)
		return nil
	}
	p, err := planCached(&m.req.Definition)
	if err != nil {
		m.err = refuseAction(refusedBad, "version %d cannot run: %v", m.req.Version, err)
		return nil
	}
	old, oldNodes, oldExecs := r.plan, r.nodes, r.execs
	// Nodes that finished but were not yet taken from done report again under their new index.
	var finished []int
	for {
		var i int
		if !done.ReceiveAsync(&i) {
			break
		}
		finished = append(finished, i)
	}
	r.plan = p
	r.nodes = make([]nodeRT, len(p.nodes))
	r.execs = make([]*nodeExec, len(p.nodes))
	r.nActive, r.nInactive = make([]int, len(p.nodes)), make([]int, len(p.nodes))
	r.decided = make([]bool, len(p.nodes))
	r.queue = nil
	r.scopeNodes = make(map[string]any, len(p.nodes))
	r.scope[designer.RootNodes] = r.scopeNodes
	var completed []int
	for j, pn := range p.nodes {
		i, ok := old.index[pn.node.ID]
		st := ""
		if ok {
			st = oldNodes[i].Status
		}
		if !ok || st == NodePending || st == NodeSkipped {
			r.setStatus(j, NodePending)
			continue
		}
		r.nodes[j] = oldNodes[i]
		r.decided[j] = true
		if x := oldExecs[i]; x != nil {
			x.idx = j
			r.execs[j] = x
		}
		r.publish(j)
		if st == NodeCompleted {
			completed = append(completed, j)
		}
	}
	for _, i := range finished {
		done.SendAsync(p.index[old.nodes[i].node.ID])
	}
	r.setupKindsAfter(ctx, old)
	for j := range p.nodes {
		if len(p.in[j]) == 0 && !r.decided[j] {
			r.decided[j] = true
			r.queue = append(r.queue, j)
		}
	}
	for _, j := range completed {
		if err := r.propagate(ctx, j); err != nil {
			return err
		}
	}
	r.moved(ctx, m.req)
	m.applied = true
	return nil
}

// setupKindsAfter runs the setup of kinds new in the run since it moved from old.
func (r *runState) setupKindsAfter(ctx workflow.Context, old *plan) {
	seen := map[string]bool{}
	for _, pn := range old.nodes {
		for _, k := range []kindUse{{pn.node.Kind, pn.kind}, bodyKind(&pn)} {
			seen[k.name] = true
		}
	}
	if err := r.setupKindsSeen(ctx, seen); err != nil {
		workflow.GetLogger(ctx).Error("set up kinds after a move", "error", err)
	}
}

// moved records the move: the run's version (in its input, scope and search attribute), the
// operation, and the version of its open tasks in the store.
func (r *runState) moved(ctx workflow.Context, req MigrateRequest) {
	from := r.in.Version
	r.in.Version, r.in.Definition = req.Version, req.Definition
	rs := make(map[string]any, len(r.runScope))
	for k, v := range r.runScope {
		rs[k] = v
	}
	rs["version"] = req.Version
	r.runScope = rs
	r.scope[designer.RootRun] = rs
	r.operations = append(slices.Clip(r.operations), OperatorAction{Action: ActionMigrate, By: req.By,
		At: workflow.Now(ctx).UTC(), Comment: req.Comment, FromVersion: from, ToVersion: req.Version})
	if err := workflow.UpsertTypedSearchAttributes(ctx, versionKey.ValueSet(int64(req.Version))); err != nil {
		workflow.GetLogger(ctx).Error("upsert version", "error", err)
	}
	r.report(ctx, false)
	if r.waiting == 0 {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           storeQueue(ctx),
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute},
		Summary: fmt.Sprintf("tasks to v%d", req.Version),
	})
	if err := workflow.ExecuteActivity(actx, activityMoveTasks, r.in.RunID, req.Version).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("move the run's tasks", "error", err)
	}
}

// TaskMover is the part of a TaskStore that moves a run's open tasks to another version;
// a TaskStore without it leaves them as they are.
type TaskMover interface {
	MoveRunTasks(ctx context.Context, runID string, version int) error
}

func init() {
	registerStoreActivity(activityMoveTasks, func(d *Deps) any {
		return func(ctx context.Context, runID string, version int) error {
			if m, ok := d.Tasks.(TaskMover); ok {
				return m.MoveRunTasks(ctx, runID, version)
			}
			return nil
		}
	})
}
