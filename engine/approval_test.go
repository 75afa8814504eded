package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"trellis/designer"
	"trellis/store"
	"trellis/store/storetest"
)

// storeTasks is the TaskStore over the real store, as cmd wires it.
type storeTasks struct{ *store.DB }

func (s storeTasks) OpenTask(ctx context.Context, t NewTask) (string, error) {
	task, _, err := s.CreateTask(ctx, store.NewTask{RunID: t.RunID, NodeID: t.NodeID, GraphID: t.GraphID, Version: t.Version,
		Title: t.Title, Instructions: t.Instructions, Assignee: t.Assignee, Form: t.Form, Outcomes: t.Outcomes,
		Context: t.Context, DueAt: t.DueAt})
	if errors.Is(err, store.ErrInvalid) {
		return "", fmt.Errorf("%w: %v", ErrBadTask, err)
	}
	if err != nil {
		return "", err
	}
	return task.ID, nil
}

func (s storeTasks) RecordDecision(ctx context.Context, runID, nodeID string, d TaskDecision) error {
	data, err := json.Marshal(d.Data)
	if err != nil {
		return err
	}
	return s.CloseTask(ctx, runID, nodeID, store.TaskDecision{Outcome: d.Outcome, Data: data, Comment: d.Comment,
		DecidedBy: d.DecidedBy, DecidedAt: d.DecidedAt})
}

// refundApproval is a run that asks group finance; approve leads to pay, reject to tell.
// %s takes more config (due, on_due).
const refundApproval = `{"nodes": [
	{"id": "classify", "kind": "transform", "config": {"value": "{ label: 'refund', amount: input.amount }"}},
	{"id": "review", "kind": "approval", "config": {
		"title": "Refund {{ input.amount }} EUR to {{ input.customer }}",
		"instructions": "Check **{{ input.customer }}**, labelled {{ nodes.classify.output.label }}.",
		"assignee": "group:finance",
		"form": {"type": "object", "required": ["amount"], "properties": {
			"amount": {"type": "number", "minimum": 0}, "note": {"type": "string", "default": "none"}}}%s}},
	{"id": "pay", "kind": "transform", "config": {"value": "'paid ' + string(nodes.review.output.data.amount)"}},
	{"id": "tell", "kind": "transform", "config": {"value": "'rejected by ' + nodes.review.output.decided_by"}}],
  "edges": [{"from": "classify", "to": "review"}, {"from": "review", "to": "pay", "port": "approve"},
	{"from": "review", "to": "tell", "port": "reject"}]}`

var refundInput = map[string]any{"customer": "Ada", "amount": 120}

func refundGraph(tb testing.TB, extra string) designer.Graph {
	return mustGraph(tb, fmt.Sprintf(refundApproval, extra))
}

// updateResult is what became of one "decide" update in the test environment.
type updateResult struct {
	accepted bool
	rejected error
	failed   error
	output   any
}

// approvalEnv runs a definition in the SDK's test environment with the real store.
type approvalEnv struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	db  *store.DB
}

func newApprovalEnv(t *testing.T) *approvalEnv {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(NewSDKLogger(quietLogger()))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: testDeadlockLimit})
	db := storetest.MustOpen(t)
	register(env, &Deps{Tasks: storeTasks{db}, Logger: quietLogger()})
	return &approvalEnv{t: t, env: env, db: db}
}

// decideAt sends a decision when the run has been going for after.
func (a *approvalEnv) decideAt(after time.Duration, req DecideRequest) *updateResult {
	res := &updateResult{}
	a.env.RegisterDelayedCallback(func() {
		a.env.UpdateWorkflow(UpdateDecide, fmt.Sprintf("u-%s-%v", req.By, after), &testsuite.TestUpdateCallback{
			OnAccept: func() { res.accepted = true },
			OnReject: func(err error) { res.rejected = err },
			OnComplete: func(out any, err error) {
				res.output, res.failed = out, err
			},
		}, req)
	}, after)
	return res
}

// at runs f when the run has been going for after.
func (a *approvalEnv) at(after time.Duration, f func()) { a.env.RegisterDelayedCallback(f, after) }

func (a *approvalEnv) state() RunState {
	a.t.Helper()
	v, err := a.env.QueryWorkflow(StateQuery)
	if err != nil {
		a.t.Fatalf("query state: %v", err)
	}
	var st RunState
	if err := v.Get(&st); err != nil {
		a.t.Fatal(err)
	}
	return st
}

func (a *approvalEnv) run(g designer.Graph, input any) envResult {
	a.t.Helper()
	a.env.ExecuteWorkflow(WorkflowName, RunInput{RunID: "run-1", GraphID: "refund", Version: 3, Definition: g,
		Input: input, StartedBy: "ann"})
	if !a.env.IsWorkflowCompleted() {
		a.t.Fatal("workflow did not complete")
	}
	var res envResult
	res.err = a.env.GetWorkflowError()
	if res.err == nil {
		if err := a.env.GetWorkflowResult(&res.out); err != nil {
			a.t.Fatal(err)
		}
	}
	res.state = a.state()
	return res
}

func (a *approvalEnv) task() *store.Task {
	a.t.Helper()
	task, err := a.db.GetTaskByNode(context.Background(), "run-1", "review")
	if err != nil {
		a.t.Fatalf("task of review: %v", err)
	}
	return task
}

func refusalType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return fmt.Sprintf("<%v>", err)
}

func historyKinds(t *store.Task) []string {
	var out []string
	for _, e := range t.Events {
		out = append(out, e.Kind)
	}
	return out
}

func ann(outcome string, data map[string]any) DecideRequest {
	return DecideRequest{Node: "review", Outcome: outcome, Data: data, By: "ann", Groups: []string{"finance"}}
}

func TestApprovalDecidedByUpdate(t *testing.T) {
	a := newApprovalEnv(t)
	var waiting RunState
	var open *store.Task
	a.at(5*time.Minute, func() { waiting, open = a.state(), a.task() })
	outsider := a.decideAt(10*time.Minute, DecideRequest{Node: "review", Outcome: "approve", Data: map[string]any{"amount": 1}, By: "eve", Groups: []string{"ops"}})
	badData := a.decideAt(11*time.Minute, ann("approve", map[string]any{"amount": "lots"}))
	badOutcome := a.decideAt(12*time.Minute, ann("maybe", map[string]any{"amount": 1}))
	otherNode := a.decideAt(13*time.Minute, DecideRequest{Node: "pay", Outcome: "approve", By: "ann", Groups: []string{"finance"}})
	good := a.decideAt(20*time.Minute, DecideRequest{Node: "review", Outcome: "approve", Data: map[string]any{"amount": 80},
		Comment: "ok", By: "ann", Groups: []string{"finance"}})
	r := a.run(refundGraph(t, ""), refundInput)
	if r.err != nil {
		t.Fatalf("run failed: %v", r.err)
	}

	if waiting.Status != RunWaiting || waiting.Nodes["review"].Status != NodeWaiting {
		t.Errorf("while open: run %s, review %s; want waiting", waiting.Status, waiting.Nodes["review"].Status)
	}
	if open == nil || open.State != store.TaskOpen || open.Title != "Refund 120 EUR to Ada" ||
		open.Instructions != "Check **Ada**, labelled refund." || open.Assignee != "group:finance" || open.DueAt != nil ||
		open.GraphID != "refund" || open.Version != 3 || !slices.Equal(open.Outcomes, []string{"approve", "reject"}) {
		t.Fatalf("open task = %+v", open)
	}
	var taskCtx struct {
		Input map[string]any `json:"input"`
		Nodes map[string]any `json:"nodes"`
	}
	if err := json.Unmarshal(open.Context, &taskCtx); err != nil || taskCtx.Input["customer"] != "Ada" ||
		fmt.Sprint(taskCtx.Nodes["classify"]) != "map[amount:120 label:refund]" {
		t.Errorf("task context = %s (%v)", open.Context, err)
	}
	refusals := []struct {
		name string
		res  *updateResult
		typ  string
		want string
	}{
		{"outsider", outsider, refusedForbidden, "assigned to group:finance; eve may not decide"},
		{"bad data", badData, refusedInvalid, "amount must be a number"},
		{"bad outcome", badOutcome, refusedInvalid, "outcome must be one of approve, reject"},
		{"not an approval", otherNode, refusedNotWaiting, "not waiting"},
	}
	for _, rf := range refusals {
		if rf.res.accepted || refusalType(rf.res.rejected) != rf.typ || !strings.Contains(rf.res.rejected.Error(), rf.want) {
			t.Errorf("%s: accepted %v, rejected %v; want %s mentioning %q", rf.name, rf.res.accepted, rf.res.rejected, rf.typ, rf.want)
		}
	}
	if !good.accepted || good.failed != nil {
		t.Fatalf("good decision: accepted %v, failed %v", good.accepted, good.failed)
	}
	out := toJSON(r.state.Nodes["review"].Output)
	for _, want := range []string{`"outcome":"approve"`, `"data":{"amount":80,"note":"none"}`, `"comment":"ok"`, `"decided_by":"ann"`, `"decided_at":"`} {
		if !strings.Contains(out, want) {
			t.Errorf("review output %s lacks %s", out, want)
		}
	}
	if toJSON(good.output) != out {
		t.Errorf("the update answered %s, the node output is %s", toJSON(good.output), out)
	}
	if got := statuses(r.state); got["review"] != NodeCompleted || got["pay"] != NodeCompleted || got["tell"] != NodeSkipped ||
		r.state.Nodes["review"].Port != "approve" {
		t.Errorf("statuses = %v, port %s", got, r.state.Nodes["review"].Port)
	}
	if toJSON(r.out) != `{"pay":"paid 80"}` {
		t.Errorf("output = %s", toJSON(r.out))
	}
	done := a.task()
	if done.State != store.TaskDone || done.Decision == nil || done.Decision.DecidedBy != "ann" || done.Decision.Outcome != "approve" ||
		string(done.Decision.Data) != `{"amount":80,"note":"none"}` || done.Decision.Comment != "ok" ||
		!slices.Equal(historyKinds(done), []string{store.TaskEventCreated, store.TaskEventDecided}) {
		t.Errorf("closed task = %+v, decision %+v, history %v", done, done.Decision, historyKinds(done))
	}
}

// TestApprovalOneOfTwoWins sends two decisions in the same instant: the first is taken,
// the second is refused naming who decided.
func TestApprovalOneOfTwoWins(t *testing.T) {
	a := newApprovalEnv(t)
	first := &updateResult{}
	second := &updateResult{}
	cb := func(res *updateResult) *testsuite.TestUpdateCallback {
		return &testsuite.TestUpdateCallback{OnAccept: func() { res.accepted = true }, OnReject: func(err error) { res.rejected = err },
			OnComplete: func(out any, err error) { res.output, res.failed = out, err }}
	}
	a.at(time.Minute, func() {
		a.env.UpdateWorkflow(UpdateDecide, "ann", cb(first), ann("approve", map[string]any{"amount": 5}))
		a.env.UpdateWorkflow(UpdateDecide, "bob", cb(second), DecideRequest{Node: "review", Outcome: "reject",
			Data: map[string]any{"amount": 0}, By: "bob", Groups: []string{"finance"}})
	})
	r := a.run(refundGraph(t, ""), refundInput)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !first.accepted || first.failed != nil {
		t.Fatalf("first: accepted %v, failed %v", first.accepted, first.failed)
	}
	// The second is refused by the validator or, when both passed it together, by the handler.
	refusal := second.rejected
	if refusal == nil {
		refusal = second.failed
	}
	if refusalType(refusal) != refusedDecided || !strings.Contains(refusal.Error(), "already decided by ann") {
		t.Errorf("second: accepted %v, refused %v; want %s naming ann", second.accepted, refusal, refusedDecided)
	}
	if toJSON(r.out) != `{"pay":"paid 5"}` || a.task().Decision.DecidedBy != "ann" {
		t.Errorf("output %s, decided by %s", toJSON(r.out), a.task().Decision.DecidedBy)
	}
}

func TestApprovalDecidesWhenDue(t *testing.T) {
	a := newApprovalEnv(t)
	r := a.run(refundGraph(t, `, "due": "1h", "on_due": {"outcome": "reject"}`), refundInput)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if toJSON(r.out) != `{"tell":"rejected by system"}` || r.state.Nodes["review"].Port != "reject" {
		t.Errorf("output = %s", toJSON(r.out))
	}
	review := r.state.Nodes["review"]
	if d := review.EndedAt.Sub(*review.StartedAt); d < time.Hour || d > time.Hour+time.Minute {
		t.Errorf("review took %v, want the 1h due", d)
	}
	task := a.task()
	if task.State != store.TaskDone || task.Decision.DecidedBy != SystemActor || task.Decision.Outcome != "reject" ||
		string(task.Decision.Data) != `{"note":"none"}` || task.DueAt == nil ||
		!slices.Equal(historyKinds(task), []string{store.TaskEventCreated, store.TaskEventAutoDecided}) {
		t.Errorf("task = %+v, decision %+v, history %v", task, task.Decision, historyKinds(task))
	}
}

func TestApprovalEscalatesWhenDue(t *testing.T) {
	a := newApprovalEnv(t)
	var before *store.Task
	a.at(30*time.Minute, func() { before = a.task() })
	early := a.decideAt(90*time.Minute, ann("approve", map[string]any{"amount": 1}))
	// Past the escalation's own due: the task stays open and mia can still decide.
	late := a.decideAt(150*time.Minute, DecideRequest{Node: "review", Outcome: "approve", Data: map[string]any{"amount": 9},
		By: "mia", Groups: []string{"managers"}})
	r := a.run(refundGraph(t, `, "due": "1h", "on_due": {"escalate_to": "group:managers"}`), refundInput)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if before.Assignee != "group:finance" || before.DueAt == nil {
		t.Fatalf("before escalation: %+v", before)
	}
	if refusalType(early.rejected) != refusedForbidden || !strings.Contains(early.rejected.Error(), "group:managers") {
		t.Errorf("finance after escalation: %v, want %s", early.rejected, refusedForbidden)
	}
	if !late.accepted || late.failed != nil || toJSON(r.out) != `{"pay":"paid 9"}` {
		t.Errorf("managers' decision: accepted %v, failed %v; output %s", late.accepted, late.failed, toJSON(r.out))
	}
	task := a.task()
	if want := []string{store.TaskEventCreated, store.TaskEventEscalated, store.TaskEventDecided}; !slices.Equal(historyKinds(task), want) {
		t.Fatalf("history = %v, want %v", historyKinds(task), want)
	}
	esc := task.Events[1]
	if esc.From != "group:finance" || esc.To != "group:managers" || esc.DueAt == nil || !esc.DueAt.Equal(before.DueAt.Add(time.Hour)) {
		t.Errorf("escalation = %+v; first due %v", esc, before.DueAt)
	}
	if task.Assignee != "group:managers" || task.Decision.DecidedBy != "mia" {
		t.Errorf("task = %+v", task)
	}
}

func TestApprovalWithoutDueRuleWaits(t *testing.T) {
	a := newApprovalEnv(t)
	res := a.decideAt(72*time.Hour, ann("reject", map[string]any{"amount": 0}))
	r := a.run(refundGraph(t, `, "due": "1h"`), refundInput)
	if r.err != nil || !res.accepted || toJSON(r.out) != `{"tell":"rejected by ann"}` {
		t.Fatalf("err %v, accepted %v, output %s", r.err, res.accepted, toJSON(r.out))
	}
}

func TestApprovalCancelledRunClosesTask(t *testing.T) {
	a := newApprovalEnv(t)
	a.at(30*time.Minute, func() { a.env.CancelWorkflow() })
	late := a.decideAt(40*time.Minute, ann("approve", map[string]any{"amount": 1}))
	r := a.run(refundGraph(t, ""), refundInput)
	if r.state.Status != RunCancelled || r.state.Nodes["review"].Status != NodeCancelled {
		t.Errorf("run %s, review %s; want cancelled", r.state.Status, r.state.Nodes["review"].Status)
	}
	if task := a.task(); task.State != store.TaskCancelled {
		t.Errorf("task state = %s, want cancelled", task.State)
	}
	if late.accepted {
		t.Error("a decision was taken after the run was cancelled")
	}
}

func TestApprovalRendersAssignee(t *testing.T) {
	g := `{"nodes": [{"id": "review", "kind": "approval", "config": {"title": "t", "assignee": "user:{{ input.owner }}"}}], "edges": []}`
	a := newApprovalEnv(t)
	res := a.decideAt(time.Minute, DecideRequest{Node: "review", Outcome: "approve", By: "zoe"})
	r := a.run(mustGraph(t, g), map[string]any{"owner": "zoe"})
	if r.err != nil || !res.accepted || a.task().Assignee != "user:zoe" {
		t.Fatalf("err %v, accepted %v, %+v", r.err, res.accepted, res)
	}

	b := newApprovalEnv(t)
	r = b.run(mustGraph(t, g), map[string]any{"owner": "Zoe Smith"})
	if r.err == nil || r.state.Nodes["review"].Status != NodeFailed || r.state.Nodes["review"].Error.Type != ErrTypeApproval ||
		!strings.Contains(r.state.Nodes["review"].Error.Message, `"user:Zoe Smith" is not user:NAME or group:NAME`) {
		t.Errorf("bad assignee: err %v, review %s", r.err, toJSON(r.state.Nodes["review"]))
	}
}

func TestApprovalWithoutTaskStoreFails(t *testing.T) {
	g := mustGraph(t, `{"nodes": [{"id": "review", "kind": "approval", "config": {"title": "t", "assignee": "user:ann"}}], "edges": []}`)
	r := runInTestEnv(t, g, nil, Deps{}, nil)
	if r.err == nil || !strings.Contains(r.state.Nodes["review"].Error.Message, "no task store") {
		t.Errorf("err %v, review %s", r.err, toJSON(r.state.Nodes["review"]))
	}
}

func TestApprovalConfigProblems(t *testing.T) {
	tests := []struct {
		name, config, field string
	}{
		{"no assignee", `{"title": "t"}`, "config.assignee"},
		{"bad assignee", `{"title": "t", "assignee": "ann"}`, "config.assignee"},
		{"bad template", `{"title": "{{ input. }}", "assignee": "user:ann"}`, "config.title"},
		{"secret", `{"title": "{{ secrets.KEY }}", "assignee": "user:ann"}`, "config.title"},
		{"bad form", `{"title": "t", "assignee": "user:ann", "form": {"type": "object", "oneOf": []}}`, "config.form"},
		{"bad outcome", `{"title": "t", "assignee": "user:ann", "outcomes": ["Yes!"]}`, "config.outcomes[0]"},
		{"twice", `{"title": "t", "assignee": "user:ann", "outcomes": ["ok", "ok"]}`, "config.outcomes[1]"},
		{"bad due", `{"title": "t", "assignee": "user:ann", "due": "soon"}`, "config.due"},
		{"on_due without due", `{"title": "t", "assignee": "user:ann", "on_due": {"outcome": "approve"}}`, "config.on_due"},
		{"unknown outcome when due", `{"title": "t", "assignee": "user:ann", "due": "1h", "on_due": {"outcome": "maybe"}}`, "config.on_due.outcome"},
		{"bad escalation", `{"title": "t", "assignee": "user:ann", "due": "1h", "on_due": {"escalate_to": "managers"}}`, "config.on_due.escalate_to"},
		{"both", `{"title": "t", "assignee": "user:ann", "due": "1h", "on_due": {"outcome": "approve", "escalate_to": "group:x"}}`, "config.on_due"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGraph(t, `{"nodes": [{"id": "review", "kind": "approval", "config": `+tt.config+`}], "edges": []}`)
			_, err := compile(&g)
			var de *DefinitionError
			if !errors.As(err, &de) || len(de.Problems) == 0 || de.Problems[0].Field != tt.field || de.Problems[0].Node != "review" {
				t.Fatalf("compile = %v, want a problem on %s", err, tt.field)
			}
		})
	}
	g := refundGraph(t, `, "outcomes": ["yes", "no"]`)
	if _, err := compile(&g); err == nil || !strings.Contains(err.Error(), `no port "approve"`) {
		t.Errorf("edges on outcomes the node lacks: %v", err)
	}
}
