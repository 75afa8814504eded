package engine

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// approvalKind waits for a person. An activity stores the task; the run then waits for the
// decision, which arrives as the "decide" workflow update, racing the due timer. The
// update's validator refuses, before anything is recorded, a decision that is late, not the
// reviewer's, or does not fit; once decided, an activity closes the task in the store.
type approvalKind struct{}

// UpdateDecide is the workflow update that carries a reviewer's decision.
const UpdateDecide = "decide"

type approvalConfig struct {
	raw        designer.ApprovalConfig
	refs       designer.Refs
	form       *designer.Schema
	outcomes   []string
	due        time.Duration
	onDue      string // outcome to decide when due, or ""
	escalateTo string
}

func init() { registerKind(designer.KindApproval, approvalKind{}) }

func (approvalKind) compile(n *designer.Node, ps *problemList) any {
	var c designer.ApprovalConfig
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	cfg := &approvalConfig{raw: c, outcomes: c.OutcomeList()}
	var refs []designer.Refs
	for _, f := range []struct{ name, src string }{{"title", c.Title}, {"instructions", c.Instructions}, {"assignee", c.Assignee}} {
		t, err := designer.CompileTemplate(f.src)
		if err != nil {
			ps.node(n.ID, "config."+f.name, err)
			continue
		}
		refs = append(refs, t.Refs())
	}
	cfg.refs = mergeRefs(refs...)
	if len(cfg.refs.Secrets) > 0 {
		ps.nodef(n.ID, "config", "secrets.%s: secrets may be used only in http nodes", cfg.refs.Secrets[0])
	}
	switch a := strings.TrimSpace(c.Assignee); {
	case a == "":
		ps.nodef(n.ID, "config.assignee", "assignee is missing: give user:NAME or group:NAME")
	case !strings.Contains(a, "{{") && !assigneePattern.MatchString(a):
		ps.nodef(n.ID, "config.assignee", "assignee %q must be user:NAME or group:NAME", a)
	}
	form, err := designer.CompileSchema(c.Form)
	if err != nil {
		ps.node(n.ID, "config.form", err)
	}
	cfg.form = form
	for i, o := range cfg.outcomes {
		if !designer.ValidNodeID(o) || slices.Contains(cfg.outcomes[:i], o) {
			ps.nodef(n.ID, fmt.Sprintf("config.outcomes[%d]", i), "outcome %q must be a unique name like approve", o)
		}
	}
	if c.Due != "" {
		if cfg.due, err = time.ParseDuration(c.Due); err != nil || cfg.due <= 0 {
			ps.nodef(n.ID, "config.due", "%q is not a positive duration like 48h", c.Due)
		}
	}
	if o := c.OnDue; o != nil {
		switch {
		case c.Due == "":
			ps.nodef(n.ID, "config.on_due", "on_due needs a due time (due)")
		case (o.Outcome == "") == (o.EscalateTo == ""):
			ps.nodef(n.ID, "config.on_due", "on_due takes either outcome or escalate_to")
		case o.Outcome != "" && !slices.Contains(cfg.outcomes, o.Outcome):
			ps.nodef(n.ID, "config.on_due.outcome", "%q is not one of the outcomes (%s)", o.Outcome, strings.Join(cfg.outcomes, ", "))
		case o.EscalateTo != "" && !assigneePattern.MatchString(o.EscalateTo):
			ps.nodef(n.ID, "config.on_due.escalate_to", "%q must be user:NAME or group:NAME", o.EscalateTo)
		}
		cfg.onDue, cfg.escalateTo = o.Outcome, o.EscalateTo
	}
	return cfg
}

func (approvalKind) ports(n *designer.Node, cfg any) []string {
	if c, ok := cfg.(*approvalConfig); ok {
		return c.outcomes
	}
	return specPorts(n)
}

// historyEvents: open, escalate and close activities (3 each), the due timer (2), the
// update (2), two status upserts, the store queue's version marker and search attribute
// (2), and a workflow task after each of six steps.
func (approvalKind) historyEvents(*designer.Node, any) int { return 17 + 6*workflowTaskEvents }

// approvalWait is one approval node's state in a run, shared by the node and the update.
type approvalWait struct {
	cfg      *approvalConfig
	open     bool   // the task exists and waits for a decision
	assignee string // as rendered, after escalation the new one
	decision *TaskDecision
	byUpdate bool // decided through the update (whose handler must finish first)
	closed   bool // the store has the decision
	handled  bool // the update's handler returned
}

// approvalRun is a run's approval state. Kinds are shared by every run, so the state is
// found by run: a registry keyed weakly by the run's *runState, whose entry goes when the
// run's state is collected (a run that ends or leaves the worker's cache).
type approvalRun struct {
	waits      map[string]*approvalWait
	registered bool // the decide update's handler is set
}

var approvalRuns = struct {
	sync.Mutex
	m map[weak.Pointer[runState]]*approvalRun
}{m: map[weak.Pointer[runState]]*approvalRun{}}

func approvalsOf(r *runState) *approvalRun {
	key := weak.Make(r)
	approvalRuns.Lock()
	defer approvalRuns.Unlock()
	a := approvalRuns.m[key]
	if a == nil {
		a = &approvalRun{waits: map[string]*approvalWait{}}
		approvalRuns.m[key] = a
		runtime.AddCleanup(r, func(k weak.Pointer[runState]) {
			approvalRuns.Lock()
			delete(approvalRuns.m, k)
			approvalRuns.Unlock()
		}, key)
	}
	return a
}

// DecideRequest is the argument of the "decide" update: the decision and the reviewer as
// the store knows them (name, groups, and who holds the task).
type DecideRequest struct {
	Node    string         `json:"node"`
	Outcome string         `json:"outcome"`
	Data    map[string]any `json:"data"`
	Comment string         `json:"comment"`
	By      string         `json:"by"`
	Groups  []string       `json:"groups"`
	Claimer string         `json:"claimer"`
	// Proof is serve's signature over the above (decision_proof.go).
	Proof string `json:"proof,omitempty"`
}

// Refusal types of the "decide" update's validator (ApplicationError types).
const (
	refusedForbidden  = "TaskForbidden"
	refusedDecided    = "TaskDecided"
	refusedInvalid    = "TaskInvalid"
	refusedNotWaiting = "TaskNotWaiting"
)

// refusalDetail rides in a refusal's details.
type refusalDetail struct {
	DecidedBy string            `json:"decided_by,omitempty"`
	Problems  []DecisionProblem `json:"problems,omitempty"`
}

func refuse(errType string, d refusalDetail, format string, args ...any) error {
	return temporal.NewApplicationErrorWithOptions(fmt.Sprintf(format, args...), errType,
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{d}})
}

// setup registers the "decide" update once per run.
func (approvalKind) setup(ctx workflow.Context, r *runState) error { return registerDecide(ctx, r) }

// registerDecide registers the "decide" update of a run, once whichever kinds ask (an
// approval node, an agent whose tool calls wait for approval).
func registerDecide(ctx workflow.Context, r *runState) error {
	st := approvalsOf(r)
	if st.registered {
		return nil
	}
	st.registered = true
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide,
		func(ctx workflow.Context, req DecideRequest) (map[string]any, error) { return st.decide(ctx, req) },
		workflow.UpdateHandlerOptions{
			Validator:   func(ctx workflow.Context, req DecideRequest) error { return st.check(req) },
			Description: "a reviewer's decision on an approval node",
		})
}

// check is the validator: it reads state and never changes it.
func (a *approvalRun) check(req DecideRequest) error {
	w := a.waits[req.Node]
	switch {
	case w != nil && w.decision != nil:
		by := w.decision.DecidedBy
		if by == SystemActor {
			return refuse(refusedDecided, refusalDetail{DecidedBy: by}, "The task of step %s was already decided automatically (%s) when it was due", req.Node, w.decision.Outcome)
		}
		return refuse(refusedDecided, refusalDetail{DecidedBy: by}, "The task of step %s was already decided by %s (%s)", req.Node, by, w.decision.Outcome)
	case w == nil || !w.open:
		return refuse(refusedNotWaiting, refusalDetail{}, "Node %s of this run is not waiting for a decision", req.Node)
	case !designer.MayDecide(w.assignee, req.Claimer, req.By, req.Groups):
		return refuse(refusedForbidden, refusalDetail{}, "The task of step %s is assigned to %s; %s may not decide it", req.Node, w.assignee, req.By)
	}
	if probs := designer.CheckDecision(w.cfg.outcomes, w.cfg.form, req.Outcome, req.Comment, req.Data); len(probs) > 0 {
		return refuse(refusedInvalid, refusalDetail{Problems: probs}, "The decision does not fit task %s: %s", req.Node, probs[0].Message)
	}
	return nil
}

// DecisionProblem names what does not fit in a decision (designer.CheckDecision).
type DecisionProblem = designer.DecisionProblem

// decide is the update's handler: it records the decision (the second of two decisions that
// passed validation together is refused here), then answers once the task is closed, so
// that the reviewer's next page shows it decided.
func (a *approvalRun) decide(ctx workflow.Context, req DecideRequest) (map[string]any, error) {
	if err := a.check(req); err != nil {
		return nil, err
	}
	w := a.waits[req.Node]
	w.decision = &TaskDecision{Outcome: req.Outcome, Data: w.cfg.form.WithDefaults(req.Data), Comment: req.Comment,
		DecidedBy: req.By, DecidedAt: workflow.Now(ctx).UTC()}
	w.byUpdate = true
	defer func() { w.handled = true }()
	if err := workflow.Await(ctx, func() bool { return w.closed }); err != nil {
		return nil, err
	}
	return approvalOutput(w.decision), nil
}

func approvalOutput(d *TaskDecision) map[string]any {
	data := d.Data
	if data == nil {
		data = map[string]any{}
	}
	return map[string]any{"outcome": d.Outcome, "data": data, "comment": d.Comment, "decided_by": d.DecidedBy,
		"decided_at": d.DecidedAt.UTC().Format(time.RFC3339Nano)}
}

func (approvalKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*approvalConfig)
	w := &approvalWait{cfg: c}
	approvalsOf(x.r).waits[x.node.ID] = w
	now := workflow.Now(ctx).UTC()
	var due *time.Time
	if c.due > 0 {
		t := now.Add(c.due)
		due = &t
	}
	form := c.form.Raw()
	req := openRequest{
		Task: NewTask{RunID: x.r.in.RunID, NodeID: x.node.ID, GraphID: x.r.in.GraphID, Version: x.r.in.Version,
			Form: form, Outcomes: c.outcomes, Context: taskContext(x), DueAt: due, ItemTotal: x.itemTotal()},
		Title: c.raw.Title, Instructions: c.raw.Instructions, Assignee: c.raw.Assignee, Scope: x.scope(c.refs),
	}
	var opened activityResult[openedTask]
	if err := workflow.ExecuteActivity(taskActivityOptions(ctx, x.node.ID), activityApprovalOpen, req).Get(ctx, &opened); err != nil {
		return nodeResult{Attempts: attemptsOf(err, 0)}, err
	}
	w.open, w.assignee = true, opened.Output.Assignee
	x.setWaiting(ctx, true)
	if err := waitForDecision(ctx, x, w, due); err != nil {
		// The run is stopping (cancelled, or another node failed): take the task out of the
		// inbox before the node ends.
		w.open = false
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		_ = workflow.ExecuteActivity(taskActivityOptions(dctx, x.node.ID), activityApprovalCancel,
			escalateRequest{RunID: x.r.in.RunID, NodeID: x.node.ID}).Get(dctx, nil)
		return nodeResult{}, err
	}
	w.open = false
	x.setWaiting(ctx, false)
	// Disconnected: a decision taken is recorded even if the run is cancelled meanwhile.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	err := workflow.ExecuteActivity(taskActivityOptions(dctx, x.node.ID), activityApprovalDecided,
		decidedRequest{RunID: x.r.in.RunID, NodeID: x.node.ID, Decision: *w.decision}).Get(dctx, nil)
	if err != nil {
		return nodeResult{}, err
	}
	w.closed = true
	if w.byUpdate {
		// Let the handler answer the reviewer before the run can end.
		if err := workflow.Await(dctx, func() bool { return w.handled }); err != nil {
			return nodeResult{}, err
		}
	}
	return nodeResult{Port: w.decision.Outcome, Output: approvalOutput(w.decision), Attempts: 1}, nil
}

// waitForDecision waits until the update or the due rule decides. When due passes, on_due
// decides (as SystemActor) or escalates once with a fresh due; without a rule, or after the
// escalation is due too, the task stays open (overdue) until someone decides.
func waitForDecision(ctx workflow.Context, x *nodeExec, w *approvalWait, due *time.Time) error {
	c := w.cfg
	decided := func() bool { return w.decision != nil }
	escalated := false
	for !decided() {
		if due == nil {
			return workflow.Await(ctx, decided)
		}
		left := due.Sub(workflow.Now(ctx))
		if left > 0 {
			ok, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: left,
				TimerOptions: workflow.TimerOptions{Summary: x.node.ID + " due"}}, decided)
			if err != nil || ok {
				return err
			}
		}
		switch {
		case c.onDue != "":
			w.decision = &TaskDecision{Outcome: c.onDue, Data: c.form.WithDefaults(nil), DecidedBy: SystemActor,
				DecidedAt: workflow.Now(ctx).UTC()}
		case c.escalateTo != "" && !escalated:
			escalated = true
			next := workflow.Now(ctx).UTC().Add(c.due)
			// The run's state changes first: from now on only the new assignee may decide.
			w.assignee = c.escalateTo
			if err := workflow.ExecuteActivity(taskActivityOptions(ctx, x.node.ID), activityApprovalEscalate,
				escalateRequest{RunID: x.r.in.RunID, NodeID: x.node.ID, Assignee: c.escalateTo, DueAt: &next}).Get(ctx, nil); err != nil {
				return err
			}
			due = &next
		default:
			due = nil
		}
	}
	return nil
}
