package engine

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
	"trellis/engine/llm"
)

// agentKind is a language model that calls tools until it can answer. Each model turn is an
// activity and each tool call another (an http tool is the http activity), so the
// transcript, kept in workflow state, survives a crash: a restarted worker replays the
// finished turns and calls from history and never repeats one. The tool calls of one turn
// run in parallel.
type agentKind struct{}

const activityAgentTurn = "agent.turn"

// Bounds of an agent's transcript, which every turn carries to the model: a tool's result
// is cut to agentResultLimit, and a run whose transcript passes agentTranscriptLimit fails.
const (
	agentResultLimit     = 16 << 10
	agentTranscriptLimit = 1 << 20
)

// ErrTypeAgent is the error type of an agent whose transcript grew past its limit.
const ErrTypeAgent = "Agent"

func init() {
	registerKind(designer.KindAgent, agentKind{})
	registerActivity(activityAgentTurn, func(d *Deps) any { return newLLMActivity(d).turn })
}

// agentNode is an agent's config compiled.
type agentNode struct {
	llm      designer.LLMConfig // provider, model, system, prompt, sampling and answer format
	refs     designer.Refs      // what system and prompt read
	tools    []agentToolRT
	byName   map[string]int
	maxSteps int
}

type agentToolRT struct {
	spec   llm.Tool
	schema *designer.Schema // nil: any arguments (a graph tool's is its graph's input schema)
	http   designer.HTTPConfig
	// graph and version name a graph tool's graph; version 0 is the latest (a draft's).
	graph   string
	version int
	// approval, when set, makes each call wait for a person's decision.
	approval *toolApproval
	// params is the parameters' schema as written, the approval form's base.
	params json.RawMessage
	// mcp names an MCP tool's server and tool.
	mcp *designer.AgentMCPTool
}

func (agentKind) compile(n *designer.Node, ps *problemList) any {
	var c designer.AgentConfig
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	a := &agentNode{llm: designer.LLMConfig{Provider: c.Provider, Model: c.Model, System: c.System, Prompt: c.Prompt,
		Temperature: c.Temperature, MaxTokens: c.MaxTokens, JSONSchema: c.JSONSchema},
		byName: map[string]int{}, maxSteps: c.ToolSteps()}
	t, field, err := compileLLM(a.llm)
	if err != nil {
		ps.node(n.ID, field, err)
		return nil
	}
	a.refs = t.refs
	if a.maxSteps < 1 || a.maxSteps > designer.AgentMaxSteps {
		ps.nodef(n.ID, "config.max_steps", "max_steps must be from 1 to %d", designer.AgentMaxSteps)
	}
	if len(c.Tools) == 0 {
		ps.nodef(n.ID, "config.tools", "an agent needs at least one tool")
	}
	for i, tool := range c.Tools {
		rt, field, err := compileAgentTool(tool)
		if err != nil {
			ps.node(n.ID, fmt.Sprintf("config.tools.%d%s", i, field), err)
			continue
		}
		if _, dup := a.byName[tool.Name]; dup {
			ps.nodef(n.ID, fmt.Sprintf("config.tools.%d.name", i), "tool %q is listed twice", tool.Name)
			continue
		}
		a.byName[tool.Name] = len(a.tools)
		a.tools = append(a.tools, rt)
	}
	return a
}

// compileAgentTool checks one tool; on error the field is the part of the tool at fault.
func compileAgentTool(t designer.AgentTool) (agentToolRT, string, error) {
	rt := agentToolRT{spec: llm.Tool{Name: t.Name, Description: t.Description}, params: t.Parameters}
	if !designer.AgentToolNamePattern.MatchString(t.Name) {
		return rt, ".name", fmt.Errorf("tool name %q: use 1 to 64 letters, digits, _ or -", t.Name)
	}
	if t.Approval != nil {
		a, field, err := compileToolApproval(t.Approval)
		if err != nil {
			return rt, field, err
		}
		rt.approval = a
	}
	if t.Graph != "" {
		v, err := parseSubgraphVersion(t.Version)
		if err != nil {
			return rt, ".version", err
		}
		rt.graph, rt.version = t.Graph, v
		return rt, "", nil
	}
	if t.MCP == nil && t.HTTP == nil {
		return rt, ".http", fmt.Errorf("http (a request) or graph (a published graph) is required")
	}
	if len(t.Parameters) > 0 {
		if err := json.Unmarshal(t.Parameters, &rt.spec.Parameters); err != nil || rt.spec.Parameters["type"] != "object" {
			return rt, ".parameters", fmt.Errorf(`parameters must be a JSON Schema of an object ("type": "object")`)
		}
		s, err := designer.CompileSchema(t.Parameters)
		switch {
		case err == nil:
			rt.schema = s
		case t.MCP == nil:
			return rt, ".parameters", err
		}
		// An MCP server's schema may use more of JSON Schema than Trellis checks: the server
		// checks the arguments then.
	}
	if t.MCP != nil {
		if !designer.MCPServerNamePattern.MatchString(t.MCP.Server) || t.MCP.Tool == "" {
			return rt, ".mcp", fmt.Errorf("mcp needs a configured server's name and a tool")
		}
		rt.mcp = t.MCP
		return rt, "", nil
	}
	rt.http = designer.HTTPConfig{Method: strings.ToUpper(t.HTTP.Method), URL: t.HTTP.URL, Headers: t.HTTP.Headers, Body: t.HTTP.Body}
	if _, field, err := compileHTTP(rt.http); err != nil {
		return rt, ".http" + strings.TrimPrefix(field, "config"), err
	}
	return rt, "", nil
}

func (agentKind) ports(n *designer.Node, _ any) []string {
	return []string{designer.PortOut, designer.PortExhausted, designer.PortError}
}

// historyEvents: per step a turn activity (3), a workflow task, and say four tool calls;
// a call that waits for approval adds its task's open, decided and update (about an
// approval node's), counted for one call a step.
func (agentKind) historyEvents(n *designer.Node, cfg any) int {
	steps, approval := designer.AgentDefaultMaxSteps, 0
	if a, ok := cfg.(*agentNode); ok {
		steps = a.maxSteps
		for _, t := range a.tools {
			if t.approval != nil {
				approval = approvalKind{}.historyEvents(n, nil)
				break
			}
		}
	}
	return steps * (3 + workflowTaskEvents + 4*3 + approval)
}

// agentTurnRequest is the turn activity's input: the model settings and templates, the
// scope they read, the tools on offer and the conversation after the prompt.
type agentTurnRequest struct {
	RunID    string             `json:"run_id"`
	NodeID   string             `json:"node_id"`
	Config   designer.LLMConfig `json:"config"`
	Scope    map[string]any     `json:"scope"`
	Tools    []llm.Tool         `json:"tools"`
	Messages []llm.Message      `json:"messages"`
}

// agentTurn is one model answer.
type agentTurn struct {
	Text             string         `json:"text"`
	JSON             any            `json:"json,omitempty"`
	Model            string         `json:"model"`
	ToolCalls        []llm.ToolCall `json:"tool_calls,omitempty"`
	PromptTokens     int            `json:"prompt_tokens"`
	CompletionTokens int            `json:"completion_tokens"`
	Cost             *float64       `json:"cost,omitempty"`
	// Results are, for a local turn (whose input history does not keep), the results of the
	// previous turn's calls that this turn was sent, for the run page's conversation.
	Results []llm.ToolResult `json:"results,omitempty"`
}

// agentCall is one tool call as the node's output lists it.
type agentCall struct {
	Step   int    `json:"step"`
	Name   string `json:"name"`
	Args   any    `json:"args"`
	Status string `json:"status"` // completed, failed, refused (unknown tool or bad arguments), rejected (by its reviewer), not_run
	Error  string `json:"error,omitempty"`
	// A call that waited for approval: who decided, and the arguments the reviewer changed
	// (Args are then the approved ones).
	ApprovedBy string    `json:"approved_by,omitempty"`
	RejectedBy string    `json:"rejected_by,omitempty"`
	Edits      []argEdit `json:"edits,omitempty"`
}

// agentRun is an agent's progress through its steps.
type agentRun struct {
	a          *agentNode
	x          *nodeExec
	schemas    []*designer.Schema // per tool; a graph tool's is read when the node starts
	rawSchemas []json.RawMessage  // per tool, as written: an approval form's base
	waiting    int                // calls waiting for a person
	bodies     []childBody        // per tool; a graph tool's pinned definition
	msgs       []llm.Message
	calls      []agentCall
	last       agentTurn
	steps      int
	prompt     int
	complete   int
	cost       float64
	costs      bool // every turn had a price
	attempts   int
	failed     error // a call that fails the node (an MCP server that stays unreachable)
}

func (agentKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	r := &agentRun{a: x.cfg.(*agentNode), x: x, costs: true}
	scope := x.scope(r.a.refs)
	specs, err := r.loadTools(ctx)
	if err != nil {
		return nodeResult{Attempts: r.attempts}, err
	}
	local := workflow.GetVersion(ctx, changeAgentLocalTurns, workflow.DefaultVersion, 1) == 1
	for r.steps < r.a.maxSteps {
		r.steps++
		req := agentTurnRequest{RunID: x.r.in.RunID, NodeID: x.node.ID, Config: r.a.llm, Scope: scope, Tools: specs, Messages: r.msgs}
		turn, attempts, err := r.turn(ctx, req, local)
		r.attempts += attempts
		if err != nil {
			return nodeResult{Attempts: r.attempts}, err
		}
		r.account(turn)
		r.msgs = append(r.msgs, llm.Message{Role: llm.RoleAssistant, Content: turn.Text, ToolCalls: turn.ToolCalls})
		if len(turn.ToolCalls) == 0 {
			return nodeResult{Port: designer.PortOut, Output: r.output(), Attempts: r.attempts}, nil
		}
		if r.steps == r.a.maxSteps {
			for _, tc := range turn.ToolCalls {
				r.calls = append(r.calls, agentCall{Step: r.steps, Name: tc.Name, Args: rawArgs(tc.Args), Status: "not_run",
					Error: "max_steps reached"})
			}
			break
		}
		r.msgs = append(r.msgs, llm.Message{Role: llm.RoleUser, ToolResults: r.callTools(ctx, turn.Text, turn.ToolCalls)})
		if r.failed != nil {
			return nodeResult{Attempts: r.attempts}, r.failed
		}
		if b, _ := json.Marshal(r.msgs); len(b) > agentTranscriptLimit {
			return nodeResult{Attempts: r.attempts}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"agent %s: the conversation grew past %d bytes after %d steps; ask for shorter tool results or fewer steps",
				x.node.ID, agentTranscriptLimit, r.steps), ErrTypeAgent, nil)
		}
	}
	return nodeResult{Port: designer.PortExhausted, Output: r.output(), Attempts: r.attempts}, nil
}

// changeAgentLocalTurns is the change that made a model turn a local activity. A regular
// activity costs the turn two round trips through the server (the activity's dispatch and
// the workflow task its end schedules) and history the whole transcript as its input each
// turn; a local activity runs in the worker right after the workflow task that asks for it,
// and history records its answer alone, when the workflow task it ran in completes, which
// it does at once with the turn's tool calls (or, for a long turn, as the SDK heartbeats
// it). A worker that dies after the model answered and before that completion asks again,
// as it would for a regular activity whose end it had not yet reported. Tool calls stay
// regular activities: their effects must not be repeated. Agents that started before the
// change replay with their turns as activities.
const changeAgentLocalTurns = "agent-local-turns"

// agentTurnMaxTime bounds a local turn with all its retries (each attempt is bounded by
// the node's timeout, and the retry policy bounds the attempts).
const agentTurnMaxTime = 24 * time.Hour

// turn asks the model for one turn: a local activity, or for agents from before
// changeAgentLocalTurns an activity.
func (r *agentRun) turn(ctx workflow.Context, req agentTurnRequest, local bool) (agentTurn, int, error) {
	if !local {
		return runActivity[agentTurn](ctx, r.x, activityAgentTurn, req)
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: r.x.pn.timeout,
		ScheduleToCloseTimeout: agentTurnMaxTime, RetryPolicy: r.x.pn.retry, Summary: r.x.node.ID})
	var res activityResult[agentTurn]
	if err := workflow.ExecuteLocalActivity(lctx, activityAgentTurn, req).Get(ctx, &res); err != nil {
		return agentTurn{}, attemptsOf(err, r.x.pn.retry.MaximumAttempts), err
	}
	return res.Output, max(int(res.Attempt), 1), nil
}

// loadTools is the tools on offer: a graph tool's definition is loaded (through the store's
// activity, once per run) and its input schema becomes the tool's parameters.
func (r *agentRun) loadTools(ctx workflow.Context) ([]llm.Tool, error) {
	specs := make([]llm.Tool, len(r.a.tools))
	r.schemas = make([]*designer.Schema, len(r.a.tools))
	r.rawSchemas = make([]json.RawMessage, len(r.a.tools))
	r.bodies = make([]childBody, len(r.a.tools))
	for i, t := range r.a.tools {
		specs[i], r.schemas[i], r.rawSchemas[i] = t.spec, t.schema, t.params
		if t.graph == "" {
			continue
		}
		body, attempts, err := loadBody(ctx, r.x, t.graph, t.version)
		r.attempts += attempts
		if err != nil {
			return nil, err
		}
		r.bodies[i] = body
		params := map[string]any{"type": "object", "properties": map[string]any{}}
		if len(body.def.Input) > 0 {
			if err := json.Unmarshal(body.def.Input, &params); err != nil || params["type"] != "object" {
				return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
					"agent %s: tool %s: graph %s has no object input schema, so a model cannot call it", r.x.node.ID, t.spec.Name, t.graph),
					ErrTypeAgent, nil)
			}
			s, err := designer.CompileSchema(body.def.Input)
			if err != nil {
				return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
					"agent %s: tool %s: the input schema of graph %s: %v", r.x.node.ID, t.spec.Name, t.graph, err), ErrTypeAgent, nil)
			}
			r.schemas[i], r.rawSchemas[i] = s, body.def.Input
		}
		specs[i].Parameters = params
	}
	return specs, nil
}

func (r *agentRun) account(t agentTurn) {
	r.last = t
	r.prompt += t.PromptTokens
	r.complete += t.CompletionTokens
	if t.Cost == nil {
		r.costs = false
	} else {
		r.cost += *t.Cost
	}
}

// output is {text, json?, model, steps, tool_calls, usage, cost?}, like an llm node's.
func (r *agentRun) output() map[string]any {
	calls := r.calls
	if calls == nil {
		calls = []agentCall{}
	}
	out := map[string]any{
		"text":       r.last.Text,
		"model":      r.last.Model,
		"steps":      r.steps,
		"tool_calls": calls,
		"usage":      map[string]any{"prompt_tokens": r.prompt, "completion_tokens": r.complete},
	}
	if len(r.a.llm.JSONSchema) > 0 {
		out["json"] = r.last.JSON
	}
	if r.costs {
		out["cost"] = r.cost
	}
	return out
}

// callTools runs the calls of one turn in parallel and returns their results in order.
func (r *agentRun) callTools(ctx workflow.Context, reasoning string, tcs []llm.ToolCall) []llm.ToolResult {
	results := make([]llm.ToolResult, len(tcs))
	calls := make([]agentCall, len(tcs))
	wg := workflow.NewWaitGroup(ctx)
	for i := range tcs {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			results[i], calls[i] = r.callTool(ctx, i, reasoning, tcs[i])
		})
	}
	wg.Wait(ctx)
	r.calls = append(r.calls, calls...)
	return results
}

// callTool runs one call. What the model got wrong (an unknown tool, arguments that do not
// fit) and what failed goes back to it as an error result, so it can correct itself.
func (r *agentRun) callTool(ctx workflow.Context, i int, reasoning string, tc llm.ToolCall) (llm.ToolResult, agentCall) {
	res := llm.ToolResult{CallID: tc.ID, Name: tc.Name}
	call := agentCall{Step: r.steps, Name: tc.Name, Args: rawArgs(tc.Args)}
	refuse := func(status, msg string) (llm.ToolResult, agentCall) {
		res.Content, res.IsError = msg, true
		call.Status, call.Error = status, msg
		return res, call
	}
	ti, ok := r.a.byName[tc.Name]
	if !ok {
		names := make([]string, len(r.a.tools))
		for j, t := range r.a.tools {
			names[j] = t.spec.Name
		}
		return refuse("refused", fmt.Sprintf("there is no tool %q; the tools are %s", tc.Name, strings.Join(names, ", ")))
	}
	tool := r.a.tools[ti]
	var args any = map[string]any{}
	if len(tc.Args) > 0 {
		if err := json.Unmarshal(tc.Args, &args); err != nil {
			return refuse("refused", "the arguments are not JSON: "+err.Error())
		}
	}
	call.Args = args
	if schema := r.schemas[ti]; schema != nil {
		if m, ok := args.(map[string]any); ok && tool.graph != "" {
			schema.ApplyDefaults(m) // as a run's input gets them
		}
		if errs := schema.Validate(args); len(errs) > 0 {
			msgs := make([]string, len(errs))
			for j, e := range errs {
				msgs[j] = e.Path + ": " + e.Message
			}
			return refuse("refused", "the arguments do not fit the tool's parameters: "+strings.Join(msgs, "; "))
		}
	}
	// NODE/STEP/CALL names the call: its activities and task (calls of one turn run at once,
	// and an activity id is unique among those in flight) and its Idempotency-Key, which a
	// retried call keeps.
	callID := r.x.node.ID + "/" + strconv.Itoa(r.steps) + "/" + strconv.Itoa(i)
	note := ""
	if tool.approval != nil {
		var status, msg string
		if args, note, status, msg = r.gate(ctx, callID, ti, reasoning, args, &call); status != "" {
			return refuse(status, msg)
		}
	}
	if tool.graph != "" {
		childID := fmt.Sprintf("%s.%s.%d.%d", r.x.r.in.RunID, r.x.node.ID, r.steps, i)
		out, err := r.bodies[ti].run(ctx, r.x, childID, args, "tool "+tool.spec.Name+" of "+r.x.node.ID)
		if err != nil {
			if temporal.IsCanceledError(err) {
				return refuse("failed", "cancelled")
			}
			return refuse("failed", errorInfo(err).Message)
		}
		return r.toolOutput(res, call, note, out)
	}
	if tool.mcp != nil {
		return r.callMCP(ctx, res, call, note, callID, tool, args)
	}
	req := httpRequest{RunID: r.x.r.in.RunID, NodeID: callID, Config: tool.http, Scope: map[string]any{designer.RootArgs: args}}
	opts := workflow.GetActivityOptions(r.x.activityOptions(ctx, ""))
	opts.ActivityID, opts.Summary = callID, callID
	var done activityResult[any]
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activityHTTP, req).Get(ctx, &done)
	out := done.Output
	if err != nil {
		if temporal.IsCanceledError(err) {
			return refuse("failed", "cancelled")
		}
		return refuse("failed", errorInfo(err).Message)
	}
	return r.toolOutput(res, call, note, out)
}

// toolOutput is a call's result for the model: its output as JSON, cut to the limit.
func (r *agentRun) toolOutput(res llm.ToolResult, call agentCall, note string, out any) (llm.ToolResult, agentCall) {
	b, _ := json.Marshal(out)
	content := string(b)
	if len(content) > agentResultLimit {
		content = content[:agentResultLimit] + fmt.Sprintf("… (cut: the result is %d bytes)", len(b))
	}
	res.Content = note + content
	call.Status = "completed"
	return res, call
}

// rawArgs is a call's arguments for the output: decoded when they are JSON.
func rawArgs(raw json.RawMessage) any {
	var v any
	if json.Unmarshal(raw, &v) == nil {
		return v
	}
	return string(raw)
}

// callMCP runs an MCP tool's call as an activity; what the tool says failed goes back to the
// model as an error result, and a server that stays unreachable past the retries too.
func (r *agentRun) callMCP(ctx workflow.Context, res llm.ToolResult, call agentCall, note, callID string, tool agentToolRT,
	args any) (llm.ToolResult, agentCall) {
	req := mcpCallRequest{RunID: r.x.r.in.RunID, CallID: callID, Server: tool.mcp.Server, Tool: tool.mcp.Tool, Args: args}
	opts := workflow.GetActivityOptions(r.x.activityOptions(ctx, ""))
	opts.ActivityID, opts.Summary = callID, callID+" "+tool.mcp.Server+"/"+tool.mcp.Tool
	var done activityResult[mcpOutcome]
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activityAgentMCP, req).Get(ctx, &done)
	if err != nil {
		res.Content, res.IsError = "cancelled", true
		call.Status, call.Error = "failed", "cancelled"
		if !temporal.IsCanceledError(err) {
			res.Content, call.Error = errorInfo(err).Message, errorInfo(err).Message
			if r.failed == nil { // an MCP server unreachable past its retries fails the node
				r.failed = temporal.NewNonRetryableApplicationError(fmt.Sprintf("agent %s: tool %s: %s",
					r.x.node.ID, tool.spec.Name, errorInfo(err).Message), ErrTypeMCP, nil)
			}
		}
		return res, call
	}
	if done.Output.IsError {
		msg, ok := done.Output.Content.(string)
		if !ok {
			b, _ := json.Marshal(done.Output.Content)
			msg = string(b)
		}
		res.Content, res.IsError = note+msg, true
		call.Status, call.Error = "failed", msg
		return res, call
	}
	return r.toolOutput(res, call, note, done.Output.Content)
}
