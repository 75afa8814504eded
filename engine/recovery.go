package engine

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// changeRecovery: runs take operators' actions: a node under on_error "hold" whose retries
// are spent becomes held (an incident) until retried, skipped or failed through the
// "incident" update, and the "control" update pauses and resumes the run. Runs from before
// the change fail such a node and know neither update.
const changeRecovery = "recovery-actions"

// Workflow updates of the recovery actions.
const (
	UpdateIncident = "incident"
	UpdateControl  = "control"
)

// Operator actions.
const (
	ActionRetry  = "retry"
	ActionSkip   = "skip"
	ActionFail   = "fail"
	ActionPause  = "pause"
	ActionResume = "resume"
)

// ErrTypeOperatorFailed is the error type of a node an operator failed.
const ErrTypeOperatorFailed = "OperatorFailed"

// Refusal types of the recovery updates' validators (ApplicationError types).
const (
	refusedNoNode   = "NoSuchNode"
	refusedConflict = "RecoveryConflict"
	refusedBad      = "RecoveryInvalid"
)

// OperatorAction is one action of an operator, as the run records it.
type OperatorAction struct {
	Action  string    `json:"action"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
	// Port is the port a skipped node completed on.
	Port string `json:"port,omitempty"`
	// FromVersion and ToVersion are the versions of a move (ActionMigrate, migrate.go).
	FromVersion int `json:"from_version,omitempty"`
	ToVersion   int `json:"to_version,omitempty"`
}

// IncidentRequest is the argument of the "incident" update: what to do with a held node.
// Output and Port are for skip (the port defaults to out).
type IncidentRequest struct {
	Node    string `json:"node"`
	Action  string `json:"action"`
	Output  any    `json:"output,omitempty"`
	Port    string `json:"port,omitempty"`
	Comment string `json:"comment,omitempty"`
	By      string `json:"by"`
}

// ControlRequest is the argument of the "control" update: pause or resume the run.
type ControlRequest struct {
	Action  string `json:"action"`
	Comment string `json:"comment,omitempty"`
	By      string `json:"by"`
}

// recovery is the part of a run's state the recovery actions use; it lives in runState.
type recovery struct {
	enabled    bool // the run has the recovery change
	held       int  // nodes held
	paused     bool
	inFlight   int  // nodes started and not yet finished, as the main loop counts them
	stopping   bool // the run fails or is cancelled: no more actions
	kick       workflow.Channel
	pending    []pendingAction // accepted actions the main loop has not applied yet
	operations []OperatorAction
}

type pendingAction struct {
	idx    int
	action string
}

// setupRecovery registers the updates of a run with the recovery change.
func (r *runState) setupRecovery(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, changeRecovery, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	r.enabled = true
	r.kick = workflow.NewBufferedChannel(ctx, 1)
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateIncident, r.incident, workflow.UpdateHandlerOptions{
		Validator:   func(ctx workflow.Context, req IncidentRequest) error { return r.checkIncident(req) },
		Description: "an operator's retry, skip or fail of a held node",
	})
	if err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateControl, r.control, workflow.UpdateHandlerOptions{
		Validator:   func(ctx workflow.Context, req ControlRequest) error { return r.checkControl(req) },
		Description: "an operator's pause or resume of the run",
	})
}

func refuseAction(errType, format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), errType, nil)
}

// checkOperator checks what every action carries: who and the comment, and a live run.
func (r *runState) checkOperator(by, comment string) error {
	switch {
	case r.stopping:
		return refuseAction(refusedConflict, "Run %s is ending; it takes no more actions", r.in.RunID)
	case by == "":
		return refuseAction(refusedBad, "an action needs the operator's name")
	case utf8.RuneCountInString(comment) > designer.MaxCommentLength:
		return refuseAction(refusedBad, "comment is %d characters long; use at most %d",
			utf8.RuneCountInString(comment), designer.MaxCommentLength)
	}
	return nil
}

// checkIncident is the "incident" validator: it reads state and never changes it.
func (r *runState) checkIncident(req IncidentRequest) error {
	if err := r.checkOperator(req.By, req.Comment); err != nil {
		return err
	}
	i, ok := r.plan.index[req.Node]
	if !ok {
		return refuseAction(refusedNoNode, "Run %s has no node %s", r.in.RunID, req.Node)
	}
	if st := r.nodes[i].Status; st != NodeHeld {
		return refuseAction(refusedConflict, "Node %s is %s, not held", req.Node, st)
	}
	switch req.Action {
	case ActionRetry, ActionFail:
	case ActionSkip:
		if port := skipPort(req.Port); !slices.Contains(r.portsOf(i), port) {
			return refuseAction(refusedBad, "node %s has no port %q; its ports are %v", req.Node, port, r.portsOf(i))
		}
	default:
		return refuseAction(refusedBad, "action %q is not retry, skip or fail", req.Action)
	}
	return nil
}

func skipPort(p string) string {
	if p == "" {
		return designer.PortOut
	}
	return p
}

// portsOf lists the ports node i can complete on. The node has started, so its config
// compiled (and compiling is pure and cached).
func (r *runState) portsOf(i int) []string {
	pn := &r.plan.nodes[i]
	cfg, problems := pn.config()
	if len(problems) > 0 {
		return specPorts(pn.node)
	}
	return pn.kind.ports(pn.node, cfg)
}

// incident is the "incident" handler. It changes the node's state at once, so that a second
// action on it is refused, and leaves what follows to the main loop (applyActions).
func (r *runState) incident(ctx workflow.Context, req IncidentRequest) (NodeState, error) {
	if err := r.checkIncident(req); err != nil {
		return NodeState{}, err
	}
	i := r.plan.index[req.Node]
	n := &r.nodes[i]
	act := OperatorAction{Action: req.Action, By: req.By, At: workflow.Now(ctx).UTC(), Comment: req.Comment}
	r.held--
	switch req.Action {
	case ActionRetry:
		n.prior = n.Attempts
		r.setStatus(i, NodePending)
	case ActionSkip:
		act.Port = skipPort(req.Port)
		n.Output, n.Port, n.EndedAt = req.Output, act.Port, &act.At
		r.setStatus(i, NodeCompleted)
	case ActionFail:
		msg := fmt.Sprintf("failed by %s", req.By)
		if req.Comment != "" {
			msg += ": " + req.Comment
		}
		n.Error = &NodeError{Message: msg, Type: ErrTypeOperatorFailed}
		r.setStatus(i, NodeFailed)
	}
	// A fresh slice: snapshots handed out earlier keep theirs.
	n.Actions = append(slices.Clip(n.Actions), act)
	r.pending = append(r.pending, pendingAction{idx: i, action: req.Action})
	r.kick.SendAsync(true)
	return n.NodeState, nil
}

// checkControl is the "control" validator.
func (r *runState) checkControl(req ControlRequest) error {
	if err := r.checkOperator(req.By, req.Comment); err != nil {
		return err
	}
	switch {
	case req.Action == ActionPause && r.paused:
		return refuseAction(refusedConflict, "Run %s is already paused", r.in.RunID)
	case req.Action == ActionResume && !r.paused:
		return refuseAction(refusedConflict, "Run %s is %s, not paused", r.in.RunID, r.status)
	case req.Action != ActionPause && req.Action != ActionResume:
		return refuseAction(refusedBad, "action %q is not pause or resume", req.Action)
	}
	return nil
}

// control is the "control" handler.
func (r *runState) control(ctx workflow.Context, req ControlRequest) (string, error) {
	if err := r.checkControl(req); err != nil {
		return "", err
	}
	r.paused = req.Action == ActionPause
	r.operations = append(slices.Clip(r.operations),
		OperatorAction{Action: req.Action, By: req.By, At: workflow.Now(ctx).UTC(), Comment: req.Comment})
	r.kick.SendAsync(true)
	if r.paused {
		return RunPaused, nil
	}
	return RunRunning, nil
}

// hold makes node i an incident.
func (r *runState) hold(ctx workflow.Context, i int) {
	r.setStatus(i, NodeHeld)
	r.held++
	workflow.GetLogger(ctx).Info("node held", "node", r.plan.nodes[i].node.ID, "error", r.nodes[i].Error.Message)
}

// waitsForOperator says whether the run, with nothing in flight, must wait instead of
// ending: an incident is open, or a pause keeps ready nodes from starting.
func (r *runState) waitsForOperator() bool {
	return !r.stopping && (r.held > 0 || r.paused && len(r.queue) > 0 || len(r.pending) > 0)
}

// next waits for a node to finish or an operator to act (or the run to be cancelled), and
// returns the node that finished, if one did.
func (r *runState) next(ctx workflow.Context, done workflow.Channel) (int, bool) {
	var i int
	got := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &i)
		got = true
	})
	sel.AddReceive(r.kick, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	if ctx.Err() == nil {
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	}
	sel.Select(ctx)
	return i, got
}

// applyActions carries out, in the order accepted, what the handlers left to the main loop:
// a retried node is queued, a skipped one propagates, a failed one fails the run.
func (r *runState) applyActions(ctx workflow.Context) error {
	pending := r.pending
	r.pending = nil
	for k, a := range pending {
		var err error
		switch a.action {
		case ActionRetry:
			r.queue = append(r.queue, a.idx)
		case ActionSkip:
			err = r.propagate(ctx, a.idx)
		case ActionFail:
			n := &r.nodes[a.idx]
			err = temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("node %q failed: %s", r.plan.nodes[a.idx].node.ID, n.Error.Message), ErrTypeOperatorFailed, nil)
		}
		if err != nil {
			r.pending = append(r.pending, pending[k+1:]...)
			return err
		}
	}
	return nil
}

// endIncidents closes the incidents of a run that fails or is cancelled.
func (r *runState) endIncidents(failure error, cancelled bool) {
	if !r.enabled || (failure == nil && !cancelled) {
		return
	}
	status := NodeCancelled
	if failure != nil {
		status = NodeFailed
	}
	for i := range r.nodes {
		if r.nodes[i].Status == NodeHeld {
			r.held--
			r.setStatus(i, status)
		}
	}
}
