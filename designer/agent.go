package designer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// KindAgent is a language model that calls tools, turn after turn, until it can answer.
const KindAgent = "agent"

// Agent limits.
const (
	AgentDefaultMaxSteps = 10
	AgentMaxSteps        = 50
	AgentMaxTools        = 32
)

// AgentConfig configures an agent node.
type AgentConfig struct {
	Provider    string          `json:"provider,omitempty"`
	Model       string          `json:"model,omitempty"`
	System      string          `json:"system,omitempty"`
	Prompt      string          `json:"prompt"`
	Tools       []AgentTool     `json:"tools"`
	MaxSteps    int             `json:"max_steps,omitempty"`
	JSONSchema  json.RawMessage `json:"json_schema,omitempty"`
	Temperature *float64        `json:"temperature,omitempty"`
	MaxTokens   int             `json:"max_tokens,omitempty"`
}

// AgentTool is one tool the model may call: an HTTP request built from the model's
// arguments (templates over args and secrets, as the http kind) with the arguments' JSON
// Schema in Parameters, or a published graph (Graph, Version; its input schema is the
// tool's parameters, and a call is a child run).
type AgentTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	HTTP        *AgentHTTPTool  `json:"http,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Graph       string          `json:"graph,omitempty"`
	Version     json.RawMessage `json:"version,omitempty"`
	// MCP is a tool of a configured MCP server; publishing pins its input schema in
	// Parameters, so a changed server cannot change what a version offers the model.
	MCP *AgentMCPTool `json:"mcp,omitempty"`
	// Approval makes each call wait for a person, who approves it (perhaps with edited
	// arguments) or rejects it with a reason that goes back to the model.
	Approval *AgentApproval `json:"approval,omitempty"`
}

// AgentMCPTool names a tool of an MCP server an admin configured (trellis mcp set).
type AgentMCPTool struct {
	Server string `json:"server"`
	Tool   string `json:"tool"`
}

// MCPServerNamePattern is a configured MCP server's name.
var MCPServerNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// MCPToolInfo is a tool as an MCP server lists it.
type MCPToolInfo struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// AgentApproval is who approves a tool's calls, and by when (as an approval node's).
type AgentApproval struct {
	Assignee string `json:"assignee"`
	Due      string `json:"due,omitempty"`
	OnDue    *OnDue `json:"on_due,omitempty"`
}

// Outcomes of a tool call's approval task.
const (
	ToolApprove = "approve"
	ToolReject  = "reject"
)

// ToolOutcomes are the outcomes a tool call's task offers.
var ToolOutcomes = []string{ToolApprove, ToolReject}

// AgentHTTPTool is the request an http tool sends.
type AgentHTTPTool struct {
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// RootArgs is what an http tool's templates read: the arguments the model gave.
const RootArgs = "args"

// AgentToolNamePattern is what both LLM protocols accept as a function name.
var AgentToolNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ToolSteps is the step limit: max_steps, or the default when it is left out.
func (c *AgentConfig) ToolSteps() int {
	if c.MaxSteps == 0 {
		return AgentDefaultMaxSteps
	}
	return c.MaxSteps
}

var agentKind = KindSpec{
	Name: KindAgent, Label: "Agent", Icon: "🤖", Color: "#c026d3", DoesWork: true,
	Description: "A language model that calls tools (web services, published graphs) turn after turn until it can answer.",
	Ports:       []string{PortOut, PortExhausted, PortError},
	Fields: []FieldSpec{
		{Name: "provider", Label: "Provider", Type: FieldString, Default: "default",
			Help: "Which configured model provider to use; leave it empty for the default one. It must support tool calling."},
		{Name: "model", Label: "Model", Type: FieldString,
			Help: "The model name, such as gpt-4o; leave it empty for the provider's default."},
		{Name: "system", Label: "System instructions", Type: FieldTemplate,
			Help: "Standing instructions: the agent's role, its rules and when to use which tool. May contain {{ expression }} parts."},
		{Name: "prompt", Label: "Task", Type: FieldTemplate, Required: true,
			Help: "What the agent must do. Use {{ expression }} to insert data, such as {{ input.message }}."},
		{Name: "tools", Label: "Tools", Type: FieldJSON, Required: true,
			Help: `A list of tools. A web service: {"name", "description", "parameters": JSON Schema of the arguments, "http": {"method", "url", "headers", "body"}}, whose texts may contain {{ args.NAME }} and {{ secrets.NAME }}. A published graph: {"name", "description", "graph": "ID", "version": "latest"}, whose input schema is the arguments. A tool of a configured MCP server: {"name", "description", "mcp": {"server", "tool"}}. Add "approval": {"assignee": "group:NAME"} to a tool whose calls a person must approve first.`},
		{Name: "max_steps", Label: "Most turns", Type: FieldInteger, Default: AgentDefaultMaxSteps, Min: 1, Max: AgentMaxSteps,
			Help: "How many times the model may answer (each answer may call several tools); past it the node ends on its exhausted exit."},
		{Name: "json_schema", Label: "Answer format", Type: FieldSchema,
			Help: "Optional: the fields the final answer must have. It is checked, and the model asked again when it does not fit."},
		{Name: "temperature", Label: "Temperature", Type: FieldNumber,
			Help: "From 0 to 2: lower gives steadier answers, higher more varied ones."},
		{Name: "max_tokens", Label: "Maximum answer length", Type: FieldInteger,
			Help: "The longest answer of one turn, in tokens."},
	},
}

// agent checks an agent's tools and limits; the common fields were checked by type.
func (c *configCheck) agent() {
	c.llm()
	raw := c.n.Config
	if c.s.prefix != "" || len(bytes.TrimSpace(raw)) == 0 {
		return
	}
	var cfg struct {
		Tools json.RawMessage `json:"tools"`
	}
	if json.Unmarshal(raw, &cfg) != nil || len(cfg.Tools) == 0 {
		return
	}
	var tools []json.RawMessage
	if err := json.Unmarshal(cfg.Tools, &tools); err != nil {
		c.add("config.tools", "tools must be a list of tools")
		return
	}
	if len(tools) == 0 {
		c.add("config.tools", "tools is empty; an agent needs at least one tool (use an llm node for a model without tools)")
	}
	if len(tools) > AgentMaxTools {
		c.add("config.tools", fmt.Sprintf("%d tools; an agent may have at most %d", len(tools), AgentMaxTools))
	}
	seen := map[string]bool{}
	for i, rt := range tools {
		c.agentTool(fmt.Sprintf("config.tools.%d", i), rt, seen)
	}
}

func (c *configCheck) agentTool(path string, raw json.RawMessage, seen map[string]bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var t AgentTool
	if err := dec.Decode(&t); err != nil {
		c.add(path, fmt.Sprintf("a tool is {name, description, parameters, http}: %v", err))
		return
	}
	switch {
	case !AgentToolNamePattern.MatchString(t.Name):
		c.add(path+".name", fmt.Sprintf("tool name %q: use 1 to 64 letters, digits, _ or -", t.Name))
	case t.Name == "answer":
		c.add(path+".name", `tool name "answer" is reserved for the final answer`)
	case seen[t.Name]:
		c.add(path+".name", fmt.Sprintf("tool %q is listed twice", t.Name))
	}
	seen[t.Name] = true
	if strings.TrimSpace(t.Description) == "" {
		c.add(path+".description", "description is required: it is how the model knows when to use the tool")
	}
	switch {
	case t.MCP != nil:
		c.agentMCPTool(path, &t)
	case t.Graph != "":
		c.agentGraphTool(path, &t)
	case len(t.Version) > 0:
		c.add(path+".version", "version is for graph tools: name the graph too")
	case t.HTTP == nil:
		c.add(path+".http", "http (a request) or graph (a published graph) is required: what the tool does")
	default:
		c.agentHTTPTool(path+".http", t.HTTP)
	}
	if t.Approval != nil {
		c.agentApproval(path+".approval", t.Approval)
	}
	if len(t.Parameters) > 0 && t.Graph == "" && t.MCP == nil {
		var root map[string]any
		if err := json.Unmarshal(t.Parameters, &root); err != nil || root["type"] != "object" {
			c.add(path+".parameters", `parameters must be a JSON Schema of an object ("type": "object")`)
		} else if _, err := CompileSchema(t.Parameters); err != nil {
			c.add(path+".parameters", err.Error())
		}
	}
}

// agentApproval checks a tool's approval as an approval node's assignee, due and on_due.
func (c *configCheck) agentApproval(path string, a *AgentApproval) {
	switch {
	case strings.TrimSpace(a.Assignee) == "":
		c.add(path+".assignee", "assignee is required: user:NAME or group:NAME, who approves the calls")
	case !validAssignee(a.Assignee):
		c.add(path+".assignee", fmt.Sprintf("assignee %q must be user:NAME or group:NAME, such as group:reviewers", a.Assignee))
	default:
		if _, err := CompileTemplate(a.Assignee); err != nil {
			c.add(path+".assignee", err.Error())
		}
	}
	if a.Due != "" {
		if d, err := time.ParseDuration(a.Due); err != nil || d <= 0 {
			c.add(path+".due", fmt.Sprintf("%q is not a positive duration like 48h", a.Due))
		}
	}
	o := a.OnDue
	switch {
	case o == nil:
	case a.Due == "":
		c.add(path+".on_due", "on_due needs a due time (due)")
	case (o.Outcome == "") == (o.EscalateTo == ""):
		c.add(path+".on_due", "on_due takes either outcome or escalate_to")
	case o.Outcome != "" && !containsString(ToolOutcomes, o.Outcome):
		c.add(path+".on_due.outcome", fmt.Sprintf("%q is not one of the outcomes (approve, reject)", o.Outcome))
	case o.EscalateTo != "" && (strings.Contains(o.EscalateTo, "{{") || !validAssignee(o.EscalateTo)):
		c.add(path+".on_due.escalate_to", fmt.Sprintf("%q must be user:NAME or group:NAME", o.EscalateTo))
	}
}

func (c *configCheck) agentMCPTool(path string, t *AgentTool) {
	if t.HTTP != nil || t.Graph != "" {
		c.add(path+".mcp", "a tool is one of mcp, graph or http, not several")
	}
	if !MCPServerNamePattern.MatchString(t.MCP.Server) {
		c.add(path+".mcp.server", fmt.Sprintf("server %q: name a configured MCP server (lowercase letters, digits, _ or -)", t.MCP.Server))
	}
	if n := len(t.MCP.Tool); n == 0 || n > 128 {
		c.add(path+".mcp.tool", "tool is required: the name of the server's tool, up to 128 characters")
	}
	if len(t.Parameters) > 0 {
		var root map[string]any
		if err := json.Unmarshal(t.Parameters, &root); err != nil || root["type"] != "object" {
			c.add(path+".parameters", `parameters must be a JSON Schema of an object ("type": "object"); publishing sets it from the server`)
		}
	}
}

// PinMCPTools sets each MCP tool's parameters to the input schema its server lists now
// (tools asks a server by name), so that a version keeps the tools it was published with.
// Problems name a server that cannot be asked and a tool it does not have.
func PinMCPTools(g *Graph, tools func(server string) ([]MCPToolInfo, error)) []Problem {
	lists := map[string][]MCPToolInfo{}
	failed := map[string]error{}
	var probs []Problem
	for ni := range g.Nodes {
		n := &g.Nodes[ni]
		if n.Kind != KindAgent {
			continue
		}
		var cfg AgentConfig
		if json.Unmarshal(n.Config, &cfg) != nil {
			continue
		}
		changed := false
		for ti, t := range cfg.Tools {
			if t.MCP == nil {
				continue
			}
			field := fmt.Sprintf("config.tools.%d.mcp", ti)
			srv := t.MCP.Server
			if _, asked := lists[srv]; !asked && failed[srv] == nil {
				l, err := tools(srv)
				lists[srv], failed[srv] = l, err
			}
			if err := failed[srv]; err != nil {
				probs = append(probs, Problem{Node: n.ID, Field: field + ".server", Message: fmt.Sprintf("MCP server %s: %v", srv, err)})
				continue
			}
			var found *MCPToolInfo
			names := make([]string, 0, len(lists[srv]))
			for i, info := range lists[srv] {
				names = append(names, info.Name)
				if info.Name == t.MCP.Tool {
					found = &lists[srv][i]
				}
			}
			if found == nil {
				probs = append(probs, Problem{Node: n.ID, Field: field + ".tool", Message: fmt.Sprintf(
					"MCP server %s has no tool %q; it has %s", srv, t.MCP.Tool, strings.Join(names, ", "))})
				continue
			}
			cfg.Tools[ti].Parameters, changed = found.InputSchema, true
		}
		if changed {
			if err := setAgentTools(n, cfg.Tools); err != nil {
				probs = append(probs, Problem{Node: n.ID, Field: "config.tools", Message: err.Error()})
			}
		}
	}
	return probs
}

// HasMCPTools reports whether an agent of g has an MCP tool.
func HasMCPTools(g *Graph) bool {
	for _, n := range g.Nodes {
		if n.Kind != KindAgent {
			continue
		}
		var cfg AgentConfig
		if json.Unmarshal(n.Config, &cfg) != nil {
			continue
		}
		for _, t := range cfg.Tools {
			if t.MCP != nil {
				return true
			}
		}
	}
	return false
}

// setAgentTools replaces an agent's tools in its config, keeping the other members as written.
func setAgentTools(n *Node, tools []AgentTool) error {
	cfg, err := parseJSON(n.Config)
	if err != nil || cfg.kind != jObject {
		return fmt.Errorf("the config is not an object")
	}
	b, err := json.Marshal(tools)
	if err != nil {
		return err
	}
	n.Config = setMember(&cfg, "tools", b)
	return nil
}

func (c *configCheck) agentGraphTool(path string, t *AgentTool) {
	if t.HTTP != nil {
		c.add(path+".http", "a tool is either a graph or an http request, not both")
	}
	if len(t.Parameters) > 0 {
		c.add(path+".parameters", "a graph tool's parameters are its graph's input schema; leave parameters out")
	}
	if !ValidGraphRef(t.Graph) {
		c.add(path+".graph", fmt.Sprintf("%q is not a graph id", t.Graph))
		return
	}
	if _, err := ParseGraphVersion(t.Version); err != nil {
		c.add(path+".version", err.Error())
	}
	c.v.includesAt(c.s, path+".graph", t.Graph)
}

// ParseGraphVersion reads the version of a graph that a node runs (a subgraph, a body, a
// graph tool): a number from 1, or "latest" (or nothing) for 0, which publishing pins.
func ParseGraphVersion(raw json.RawMessage) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "latest" {
			return 0, nil
		}
		return 0, fmt.Errorf(`version must be a number or "latest", not %q`, s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f < 1 || f != float64(int(f)) {
		return 0, fmt.Errorf(`version must be a number from 1 or "latest", not %s`, raw)
	}
	return int(f), nil
}

// ValidGraphRef is a loose check of a graph id named by a tool; whether it exists is the
// environment's to say.
func ValidGraphRef(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsAny(id, " \t\r\n/")
}

// agentToolGraphs lists the graphs an agent's tools run.
func agentToolGraphs(config json.RawMessage) []string {
	var cfg struct {
		Tools []struct {
			Graph string `json:"graph"`
		} `json:"tools"`
	}
	if json.Unmarshal(config, &cfg) != nil {
		return nil
	}
	var out []string
	for _, t := range cfg.Tools {
		if t.Graph != "" {
			out = append(out, t.Graph)
		}
	}
	return out
}

// resolveAgentTools pins an agent's graph tools whose version is "latest" or missing, as
// ResolveSubgraphVersions does for subgraph nodes.
func resolveAgentTools(n *Node, latest func(string) (int, bool)) []Problem {
	cfg, err := parseJSON(n.Config)
	if err != nil || cfg.kind != jObject {
		return nil
	}
	tools := cfg.get("tools")
	if tools == nil || tools.kind != jArray {
		return nil
	}
	var probs []Problem
	changed := false
	list := []byte{'['}
	for i := range tools.kids {
		el := &tools.kids[i].val
		raw := el.raw
		if el.kind == jObject {
			g, v := el.get("graph"), el.get("version")
			if g != nil && g.kind == jString && g.str != "" && (v == nil || v.kind == jNull || v.kind == jString && v.str == "latest") {
				if num, ok := latest(g.str); ok && num >= 1 {
					raw, changed = setMember(el, "version", []byte(strconv.Itoa(num))), true
				} else {
					probs = append(probs, Problem{Node: n.ID, Field: fmt.Sprintf("config.tools.%d.version", i),
						Message: fmt.Sprintf("graph %q has no published version to use", g.str)})
				}
			}
		}
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, raw...)
	}
	if changed {
		n.Config = setMember(&cfg, "tools", append(list, ']'))
	}
	return probs
}

func (c *configCheck) agentHTTPTool(path string, h *AgentHTTPTool) {
	if h.Method != "" && !containsString(HTTPMethods, strings.ToUpper(h.Method)) {
		c.add(path+".method", fmt.Sprintf("method %q must be one of %s", h.Method, strings.Join(HTTPMethods, ", ")))
	}
	if strings.TrimSpace(h.URL) == "" {
		c.add(path+".url", "url is required")
	}
	type text struct{ field, value string }
	texts := []text{{"url", h.URL}}
	names := make([]string, 0, len(h.Headers))
	for k := range h.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		texts = append(texts, text{"headers." + k, h.Headers[k]})
	}
	if len(h.Body) > 0 {
		texts = append(texts, text{"body", string(h.Body)})
	}
	for _, t := range texts {
		if _, err := CompileTemplate(t.value); err != nil {
			c.add(path+"."+t.field, err.Error())
		}
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
