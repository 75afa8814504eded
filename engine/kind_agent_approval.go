package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// toolApproval is a tool's approval compiled: who approves its calls, and by when.
type toolApproval struct {
	assignee   string
	refs       designer.Refs // what the assignee template reads (besides args)
	due        time.Duration
	onDue      string
	escalateTo string
}

func compileToolApproval(a *designer.AgentApproval) (*toolApproval, string, error) {
	ta := &toolApproval{assignee: strings.TrimSpace(a.Assignee)}
	t, err := designer.CompileTemplate(ta.assignee)
	if err != nil {
		return nil, ".approval.assignee", err
	}
	ta.refs = t.Refs()
	if len(ta.refs.Secrets) > 0 {
		return nil, ".approval.assignee", fmt.Errorf("secrets.%s: secrets may not name an assignee", ta.refs.Secrets[0])
	}
	if !strings.Contains(ta.assignee, "{{") && !assigneePattern.MatchString(ta.assignee) {
		return nil, ".approval.assignee", fmt.Errorf("assignee %q must be user:NAME or group:NAME", ta.assignee)
	}
	if a.Due != "" {
		if ta.due, err = time.ParseDuration(a.Due); err != nil || ta.due <= 0 {
			return nil, ".approval.due", fmt.Errorf("%q is not a positive duration like 48h", a.Due)
		}
	}
	if o := a.OnDue; o != nil {
		if ta.due == 0 || (o.Outcome == "") == (o.EscalateTo == "") || o.Outcome != "" && !slices.Contains(designer.ToolOutcomes, o.Outcome) {
			return nil, ".approval.on_due", fmt.Errorf("on_due takes a due time and either outcome (approve or reject) or escalate_to")
		}
		ta.onDue, ta.escalateTo = o.Outcome, o.EscalateTo
	}
	return ta, "", nil
}

// argsField is the form's one field when the tool's schema cannot be a form of its own.
const argsField = "args"

// toolForm is the task's form: the tool's parameters with the proposed arguments as the
// defaults, so the reviewer sees them filled in and may change them. A schema without
// properties for every argument becomes one JSON field, args.
func toolForm(schema json.RawMessage, args any) (json.RawMessage, bool) {
	var root map[string]any
	m, isMap := args.(map[string]any)
	if json.Unmarshal(schema, &root) == nil && isMap {
		if props, ok := root["properties"].(map[string]any); ok && len(props) > 0 {
			fits := true
			for k := range m {
				if _, ok := props[k].(map[string]any); !ok {
					fits = false
				}
			}
			if fits {
				for k, v := range m {
					p := maps.Clone(props[k].(map[string]any))
					p["default"] = v
					props[k] = p
				}
				b, _ := json.Marshal(root)
				return b, false
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "required": []string{argsField},
		"properties": map[string]any{argsField: map[string]any{"title": "Arguments",
			"description": "The arguments the tool is called with.", "default": args}}})
	return b, true
}

// argEdit is one argument a reviewer changed: its old and new value (nil: absent).
type argEdit struct {
	Arg  string `json:"arg"`
	From any    `json:"from"`
	To   any    `json:"to"`
}

// argsDiff lists the arguments that differ, by name.
func argsDiff(from, to any) []argEdit {
	fm, ok1 := from.(map[string]any)
	tm, ok2 := to.(map[string]any)
	if !ok1 || !ok2 {
		if reflect.DeepEqual(from, to) {
			return nil
		}
		return []argEdit{{Arg: "", From: from, To: to}}
	}
	keys := slices.Sorted(maps.Keys(fm))
	for k := range tm {
		if _, ok := fm[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []argEdit
	for _, k := range keys {
		a, b := fm[k], tm[k]
		if !reflect.DeepEqual(jsonNormal(a), jsonNormal(b)) {
			out = append(out, argEdit{Arg: k, From: a, To: b})
		}
	}
	return out
}

// jsonNormal makes numbers of either origin compare equal (an int default, a float form value).
func jsonNormal(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// approveCall opens a task for a call and waits for the decision, as an approval node does
// (the decide update finds the wait by the call's id, NODE/STEP/CALL). It returns the
// arguments to call with (the reviewer's, perhaps edited) and the decision; a rejection
// is returned as the decision, not an error.
func (r *agentRun) approveCall(ctx workflow.Context, callID string, ti int, reasoning string, args any) (any, *TaskDecision, error) {
	x, tool := r.x, r.a.tools[ti]
	ta := tool.approval
	_ = workflow.GetVersion(ctx, "agent-tool-approval", workflow.DefaultVersion, 1)
	formRaw, wrapped := toolForm(r.rawSchemas[ti], args)
	form, err := designer.CompileSchema(formRaw)
	if err != nil && !wrapped { // a schema beyond what forms show (an MCP server's): one JSON field
		formRaw, wrapped = toolForm(nil, args)
		form, err = designer.CompileSchema(formRaw)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tool %s: the approval form: %w", tool.spec.Name, err)
	}
	c := &approvalConfig{form: form, outcomes: designer.ToolOutcomes, due: ta.due, onDue: ta.onDue, escalateTo: ta.escalateTo}
	w := &approvalWait{cfg: c}
	approvalsOf(x.r).waits[callID] = w
	var due *time.Time
	if ta.due > 0 {
		t := workflow.Now(ctx).UTC().Add(ta.due)
		due = &t
	}
	proposed, _ := json.MarshalIndent(args, "", "  ")
	instructions := fmt.Sprintf("The agent %s wants to call the tool %s: %s", x.node.ID, tool.spec.Name, tool.spec.Description)
	if s := strings.TrimSpace(reasoning); s != "" {
		instructions += "\n\nThe model's reasoning: " + s
	}
	instructions += "\n\nProposed arguments:\n" + string(proposed) +
		"\n\nApprove to make the call (change the arguments first if they are wrong), or reject it with a reason in the comment: the reason goes back to the model."
	scope := x.scope(ta.refs)
	scope[designer.RootArgs] = args
	scope["tool"] = map[string]any{"title": "Approve " + tool.spec.Name + " (agent " + x.node.ID + ")", "instructions": instructions}
	req := openRequest{
		Task: NewTask{RunID: x.r.in.RunID, NodeID: callID, GraphID: x.r.in.GraphID, Version: x.r.in.Version,
			Form: formRaw, Outcomes: designer.ToolOutcomes, Context: taskContext(x), DueAt: due},
		Title: "{{ tool.title }}", Instructions: "{{ tool.instructions }}", Assignee: ta.assignee, Scope: scope,
	}
	var opened activityResult[openedTask]
	if err := workflow.ExecuteActivity(taskActivityOptions(ctx, callID), activityApprovalOpen, req).Get(ctx, &opened); err != nil {
		return nil, nil, err
	}
	w.open, w.assignee = true, opened.Output.Assignee
	r.wait(ctx, true)
	if err := waitForDecision(ctx, x, w, due); err != nil {
		w.open = false
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		_ = workflow.ExecuteActivity(taskActivityOptions(dctx, callID), activityApprovalCancel,
			escalateRequest{RunID: x.r.in.RunID, NodeID: callID}).Get(dctx, nil)
		return nil, nil, err
	}
	w.open = false
	r.wait(ctx, false)
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := workflow.ExecuteActivity(taskActivityOptions(dctx, callID), activityApprovalDecided,
		decidedRequest{RunID: x.r.in.RunID, NodeID: callID, Decision: *w.decision}).Get(dctx, nil); err != nil {
		return nil, nil, err
	}
	w.closed = true
	if w.byUpdate {
		if err := workflow.Await(dctx, func() bool { return w.handled }); err != nil {
			return nil, nil, err
		}
	}
	d := w.decision
	if wrapped {
		return d.Data[argsField], d, nil
	}
	return map[string]any(d.Data), d, nil
}

// gate waits for a call's approval. It returns the arguments to call with and a note for
// the model when a reviewer changed them, or a status and message to refuse the call with.
func (r *agentRun) gate(ctx workflow.Context, callID string, ti int, reasoning string, args any, call *agentCall) (any, string, string, string) {
	approved, d, err := r.approveCall(ctx, callID, ti, reasoning, args)
	if err != nil {
		if temporal.IsCanceledError(err) {
			return nil, "", "failed", "cancelled"
		}
		return nil, "", "failed", errorInfo(err).Message
	}
	if d.Outcome != designer.ToolApprove {
		call.RejectedBy = d.DecidedBy
		if d.DecidedBy == SystemActor {
			return nil, "", "rejected", "the call was rejected: nobody approved it before it was due"
		}
		reason := strings.TrimSpace(d.Comment)
		if reason == "" {
			reason = "no reason given"
		}
		return nil, "", "rejected", fmt.Sprintf("the call was rejected by %s, its reviewer: %s", d.DecidedBy, reason)
	}
	call.ApprovedBy, call.Edits, call.Args = d.DecidedBy, argsDiff(args, approved), approved
	note := ""
	if len(call.Edits) > 0 {
		b, _ := json.Marshal(approved)
		note = fmt.Sprintf("(the reviewer %s changed the arguments; the call was made with %s) ", d.DecidedBy, b)
	}
	return approved, note, "", ""
}

// wait marks the node waiting while any of its calls waits for a person.
func (r *agentRun) wait(ctx workflow.Context, waiting bool) {
	if waiting {
		r.waiting++
		if r.waiting == 1 {
			r.x.setWaiting(ctx, true)
		}
		return
	}
	r.waiting--
	if r.waiting == 0 {
		r.x.setWaiting(ctx, false)
	}
}

// setup registers the decide update, which a tool call's approval takes as a node's.
func (agentKind) setup(ctx workflow.Context, r *runState) error { return registerDecide(ctx, r) }
