package engine

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Run statuses (api.md).
const (
	RunRunning   = "running"
	RunWaiting   = "waiting"
	RunHeld      = "held"   // an incident waits for an operator and nothing else can progress
	RunPaused    = "paused" // an operator paused the run: no node starts until resumed
	RunCompleted = "completed"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// Node statuses (api.md).
const (
	NodePending   = "pending"
	NodeRunning   = "running"
	NodeWaiting   = "waiting"
	NodeHeld      = "held" // an incident: retries spent under on_error hold (recovery.go)
	NodeCompleted = "completed"
	NodeFailed    = "failed"
	NodeSkipped   = "skipped"
	NodeCancelled = "cancelled"
)

// StateQuery is the name of the query that returns a RunState.
const StateQuery = "state"

// NodeState is one node's live state. Port is the port a completed node took.
type NodeState struct {
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	Output    any        `json:"output"`
	Error     *NodeError `json:"error"`
	StartedAt *time.Time `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	Port      string     `json:"port,omitempty"`
	// Actions are the operators' actions on the node (retry, skip, fail), oldest first.
	Actions []OperatorAction `json:"actions,omitempty"`
	// ReusedFrom is the run whose recorded output a rewind carried over (recovery.go);
	// Corrected says who corrected that output, and what was recorded.
	ReusedFrom string      `json:"reused_from,omitempty"`
	Corrected  *Correction `json:"corrected,omitempty"`
	// Items is a map's progress while it runs (and how it ended); Rounds a loop's.
	Items  *ItemProgress  `json:"items,omitempty"`
	Rounds *RoundProgress `json:"rounds,omitempty"`
}

// RoundProgress is a loop's iteration: the one running (the last, once the loop has ended)
// and the most it may run. Like ItemProgress, it is state only.
type RoundProgress struct {
	Iteration int `json:"iteration"`
	Max       int `json:"max"`
}

// ItemProgress counts a map's items: how many there are, have completed and have failed.
// It lives in the run's state only (the query answers it); history does not change.
type ItemProgress struct {
	Total     int `json:"total"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
}

// RunState is what the "state" query returns.
type RunState struct {
	Status string               `json:"status"`
	Input  any                  `json:"input"`
	Output any                  `json:"output"`
	Error  *NodeError           `json:"error"`
	Nodes  map[string]NodeState `json:"nodes"`
	// Paused says an operator paused the run; Operations are the run-wide actions.
	Paused     bool             `json:"paused,omitempty"`
	Operations []OperatorAction `json:"operations,omitempty"`
	// RewoundFrom is the run and node a rewound run started from; InputCorrected says who
	// replaced its input, and what was recorded.
	RewoundFrom    *RewoundFrom `json:"rewound_from,omitempty"`
	InputCorrected *Correction  `json:"input_corrected,omitempty"`
	// Version is the version the run is on now, which a move changes (migrate.go).
	Version int `json:"version,omitempty"`
}

// statusKey is the search attribute that tells running runs from those waiting for a person.
var statusKey = temporal.NewSearchAttributeKeyKeyword(SAStatus)

// snapshot builds the query answer. It copies, so the caller may encode it at leisure.
func (r *runState) snapshot() (RunState, error) {
	st := RunState{Status: r.status, Input: r.in.Input, Output: r.output, Error: r.err,
		Nodes: make(map[string]NodeState, len(r.nodes)), Paused: r.paused, Operations: r.operations,
		Version: r.in.Version}
	if rw := r.in.Rewind; rw != nil {
		st.RewoundFrom = &RewoundFrom{RunID: rw.RunID, Node: rw.Node}
		if rw.InputCorrected {
			st.InputCorrected = &Correction{By: rw.By, Recorded: rw.RecordedInput}
		}
	}
	if r.plan == nil {
		return st, nil
	}
	for i := range r.nodes {
		st.Nodes[r.plan.nodes[i].node.ID] = r.nodes[i].NodeState
	}
	return st, nil
}

// setStatus changes a node's status and the scope entry expressions see.
func (r *runState) setStatus(i int, status string) {
	r.nodes[i].Status = status
	r.publish(i)
}

// publish replaces the node's scope entry. Entries are never modified in place, so a
// snapshot handed to an activity cannot change under it.
func (r *runState) publish(i int) {
	n := &r.nodes[i]
	var out any
	if n.Status == NodeCompleted {
		out = n.Output
	}
	r.scopeNodes[r.plan.nodes[i].node.ID] = map[string]any{"output": out, "status": n.Status}
}

func (r *runState) setWaiting(ctx workflow.Context, i int, waiting bool) {
	n := &r.nodes[i]
	switch {
	case waiting && n.Status == NodeRunning:
		r.setStatus(i, NodeWaiting)
		r.waiting++
	case !waiting && n.Status == NodeWaiting:
		r.setStatus(i, NodeRunning)
		r.waiting--
	default:
		return
	}
	r.updateRunStatus(ctx)
}

// updateRunStatus keeps status (and the TrellisStatus search attribute, so that lists can
// show waiting runs) in line with the waiting count while the run is live.
func (r *runState) updateRunStatus(ctx workflow.Context) {
	switch r.status {
	case RunRunning, RunWaiting, RunHeld, RunPaused:
	default:
		return
	}
	// held and paused happen only in runs with the recovery change (recovery.go).
	want := RunRunning
	switch {
	case r.paused:
		want = RunPaused
	case r.held > 0 && r.inFlight == 0 && len(r.queue) == 0:
		want = RunHeld
	case r.waiting > 0:
		want = RunWaiting
	}
	if want == r.status {
		return
	}
	r.status = want
	if err := workflow.UpsertTypedSearchAttributes(ctx, statusKey.ValueSet(want)); err != nil {
		workflow.GetLogger(ctx).Warn("upsert run status", "error", err)
	}
	r.report(ctx, false) // versions_rollup.go
}

func (r *runState) now(ctx workflow.Context) *time.Time {
	t := workflow.Now(ctx).UTC()
	return &t
}

// liveStatus says whether status is one of a run that has not ended.
func liveStatus(status string) bool {
	switch status {
	case RunRunning, RunWaiting, RunHeld, RunPaused:
		return true
	}
	return false
}
