package actions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"trellis/engine"
	"trellis/store"
)

// The reconciliation check of trellis doctor: the inbox (open tasks in the store) must agree
// with the runs (the approval tasks each run's history says it waits on). Runs are the
// record: where they disagree, the store is made to follow them.

// DoctorStore is what the check needs of the task store (*store.DB implements it).
type DoctorStore interface {
	OpenTaskKeys(ctx context.Context) ([]store.TaskKey, error)
	GetTaskByNode(ctx context.Context, runID, nodeID string) (*store.Task, error)
	CreateTask(ctx context.Context, in store.NewTask) (*store.Task, bool, error)
	CancelStaleTask(ctx context.Context, runID, nodeID, note string) (bool, error)
}

// DoctorEngine is what the check needs of the engine (*engine.Engine implements it).
type DoctorEngine interface {
	OpenRunIDs(ctx context.Context) ([]string, error)
	RunApprovals(ctx context.Context, runID string) (*engine.RunApprovals, error)
}

// Kinds of findings.
const (
	// FindingStaleTask: a task open in the store whose run no longer waits on it.
	FindingStaleTask = "stale_task"
	// FindingMissingTask: a run waits on an approval task the store does not have.
	FindingMissingTask = "missing_task"
)

// Finding is one disagreement, and what the repair did about it.
type Finding struct {
	Kind    string
	RunID   string
	NodeID  string
	TaskID  string // the store's task (for a missing task: the one the repair opened)
	Problem string // what is wrong, one sentence
	// Repaired says the repair fixed it; RepairError why it could not.
	Repaired    bool
	RepairError string
	ra          *engine.RunApprovals // a missing task's run, to rebuild the task from
}

// String is the finding as one line.
func (f Finding) String() string {
	var b strings.Builder
	switch f.Kind {
	case FindingStaleTask:
		fmt.Fprintf(&b, "stale task %s (run %s, node %s): %s", f.TaskID, f.RunID, f.NodeID, f.Problem)
	default:
		fmt.Fprintf(&b, "missing task (run %s, node %s): %s", f.RunID, f.NodeID, f.Problem)
	}
	switch {
	case f.RepairError != "":
		fmt.Fprintf(&b, "; not repaired: %s", f.RepairError)
	case f.Repaired && f.Kind == FindingStaleTask:
		b.WriteString("; repaired: closed as cancelled")
	case f.Repaired:
		fmt.Fprintf(&b, "; repaired: opened again as task %s", f.TaskID)
	}
	return b.String()
}

// DoctorReport is the outcome of a check: what was looked at and the findings.
type DoctorReport struct {
	OpenTasks int // tasks open in the store
	Runs      int // runs looked at: those still going and those of open tasks
	Findings  []Finding
}

// Unrepaired counts the findings still wrong.
func (r *DoctorReport) Unrepaired() int {
	n := 0
	for _, f := range r.Findings {
		if !f.Repaired {
			n++
		}
	}
	return n
}

// Summary is the report's last line.
func (r *DoctorReport) Summary() string {
	if len(r.Findings) == 0 {
		return fmt.Sprintf("healthy: %s and %s agree", plural(r.OpenTasks, "open task"), plural(r.Runs, "run"))
	}
	stale, missing := 0, 0
	for _, f := range r.Findings {
		if f.Kind == FindingStaleTask {
			stale++
		} else {
			missing++
		}
	}
	s := fmt.Sprintf("%s: %s whose run no longer waits on it, %s a run waits on that the store does not have (%s, %s checked)",
		plural(len(r.Findings), "problem"), plural(stale, "open task"), plural(missing, "task"),
		plural(r.OpenTasks, "open task"), plural(r.Runs, "run"))
	if n := len(r.Findings) - r.Unrepaired(); n > 0 || r.Unrepaired() == 0 {
		s += fmt.Sprintf("; %d repaired", n)
	}
	if n := r.Unrepaired(); n > 0 {
		s += fmt.Sprintf("; %d not repaired", n)
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// ErrStrangeCluster refuses a check whose engine knows none of the runs of the store's open
// tasks: most likely the wrong Temporal cluster or namespace, whose "repair" would cancel
// every task.
var ErrStrangeCluster = errors.New("the Temporal namespace knows none of the runs of the open tasks")

// Doctor compares the store's open tasks with the runs' approvals and, with repair, makes
// the store agree: a stale task is closed as cancelled with a note; a missing task is
// stored again as the run opened it (the same idempotent CreateTask its activity calls).
func Doctor(ctx context.Context, st DoctorStore, eng DoctorEngine, repair bool) (*DoctorReport, error) {
	keys, err := st.OpenTaskKeys(ctx)
	if err != nil {
		return nil, err
	}
	open, err := eng.OpenRunIDs(ctx)
	if err != nil {
		return nil, err
	}
	tasksOf := map[string][]store.TaskKey{}
	for _, k := range keys {
		tasksOf[k.RunID] = append(tasksOf[k.RunID], k)
	}
	runs := append([]string(nil), open...)
	for id := range tasksOf {
		runs = append(runs, id)
	}
	slices.Sort(runs)
	runs = slices.Compact(runs)
	rep := &DoctorReport{OpenTasks: len(keys), Runs: len(runs)}
	known := 0
	for _, runID := range runs {
		ra, err := eng.RunApprovals(ctx, runID)
		if errors.Is(err, engine.ErrRunNotFound) {
			ra = nil
		} else if err != nil {
			return nil, err
		} else if len(tasksOf[runID]) > 0 {
			known++
		}
		fs, err := checkRun(ctx, st, runID, ra, tasksOf[runID])
		if err != nil {
			return nil, err
		}
		rep.Findings = append(rep.Findings, fs...)
	}
	if len(tasksOf) > 0 && known == 0 && len(open) == 0 {
		return nil, fmt.Errorf("%w (%d runs): is this the Temporal cluster and namespace of serve?", ErrStrangeCluster, len(tasksOf))
	}
	if repair {
		for i := range rep.Findings {
			repairFinding(ctx, st, &rep.Findings[i])
		}
	}
	return rep, nil
}

// checkRun compares one run (ra nil: unknown to Temporal) with its open tasks.
func checkRun(ctx context.Context, st DoctorStore, runID string, ra *engine.RunApprovals, tasks []store.TaskKey) ([]Finding, error) {
	var out []Finding
	for _, k := range tasks {
		var problem string
		switch {
		case ra == nil:
			problem = "Temporal does not know the run"
		case ra.Ended:
			problem = fmt.Sprintf("the run has ended (%s)", ra.Status)
		case ra.Tasks[k.NodeID] == engine.ApprovalClosed:
			problem = "the run closed this task already"
		case ra.Tasks[k.NodeID] == "":
			problem = "the run never opened this task"
		default:
			continue // open, or being opened or closed right now
		}
		// The store is read again after the run: a task closed meanwhile is no finding.
		if t, err := st.GetTaskByNode(ctx, runID, k.NodeID); errors.Is(err, store.ErrNotFound) || (err == nil && t.State != store.TaskOpen) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, Finding{Kind: FindingStaleTask, RunID: runID, NodeID: k.NodeID, TaskID: k.ID, Problem: problem})
	}
	if ra == nil || ra.Ended {
		return out, nil
	}
	for _, node := range ra.Nodes(engine.ApprovalOpen) {
		_, err := st.GetTaskByNode(ctx, runID, node)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		out = append(out, Finding{Kind: FindingMissingTask, RunID: runID, NodeID: node,
			Problem: "the run waits on this approval task, the store does not have it", ra: ra})
	}
	return out, nil
}

// repairFinding fixes one finding, or says why it could not in f.RepairError.
func repairFinding(ctx context.Context, st DoctorStore, f *Finding) {
	switch f.Kind {
	case FindingStaleTask:
		// Closed meanwhile (by its run, or another doctor) is fixed as well.
		if _, err := st.CancelStaleTask(ctx, f.RunID, f.NodeID, "closed by trellis doctor: "+f.Problem); err != nil {
			f.RepairError = err.Error()
			return
		}
	case FindingMissingTask:
		if err := reopenTask(ctx, st, f); err != nil {
			f.RepairError = err.Error()
			return
		}
	}
	f.Repaired, f.RepairError = true, ""
}

// reopenTask stores a run's missing task again, rebuilt from the open activity's input in
// the run's history; CreateTask is idempotent per (run, node), so a second repair (or a
// retried activity) finds it and changes nothing.
func reopenTask(ctx context.Context, st DoctorStore, f *Finding) error {
	t, ok, err := f.ra.Task(f.NodeID)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the run's history has no record of opening it")
	}
	task, _, err := st.CreateTask(ctx, t)
	if err != nil {
		return err
	}
	f.TaskID = task.ID
	return nil
}
