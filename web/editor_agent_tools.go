package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// agentToolsPath is where an agent's tools are in a node.
const agentToolsPath = "config.tools"

// agentToolsForm turns an agent's tools field into the tools picker: a card per tool, with
// the problems of each tool beside the part they concern, and what may be picked (published
// graphs, configured MCP servers). Tools that are not a list stay a JSON field.
func (s *Server) agentToolsForm(ctx context.Context, p *templates.NodeFormProps, graphID string, raw json.RawMessage, problems []designer.Problem) error {
	i := slices.IndexFunc(p.Config, func(f templates.NodeField) bool { return f.Name == agentToolsPath })
	if i < 0 {
		return nil
	}
	var tools []json.RawMessage
	if val := nodeLookupRaw(raw, agentToolsPath); val != nil && json.Unmarshal(val, &tools) != nil {
		return nil
	}
	tp := &templates.AgentToolsProps{Path: agentToolsPath, MCPToolsURL: "/graphs/" + graphID + "/edit/mcp-tools"}
	for n, t := range tools {
		tp.Cards = append(tp.Cards, agentToolCard(n, t))
	}
	f := &p.Config[i]
	f.Control, f.DataType, f.Tools, f.Error, f.Column = templates.NodeControlTools, "tools", tp, "", 0
	for _, pr := range problems {
		if !nodeFieldCovers(agentToolsPath, pr.Field) {
			continue
		}
		if !agentToolProblem(tp, pr) {
			f.Error = strings.TrimSpace(f.Error + " " + fieldProblemText(pr))
		}
	}
	if err := s.agentToolChoices(ctx, tp, graphID); err != nil {
		return err
	}
	for i := range tp.Cards {
		if c := &tp.Cards[i]; c.Kind == templates.AgentToolGraph && c.Graph != "" {
			c.GraphArgs = s.agentGraphArgs(ctx, c.Graph, c.Version)
		}
	}
	return nil
}

// agentGraphArgs says what a graph tool's model must give: the arguments of the graph's input
// schema, of the version named or the latest. A graph that cannot be read says nothing; the
// designer reports it.
func (s *Server) agentGraphArgs(ctx context.Context, graphID, version string) string {
	if !store.ValidGraphID(graphID) {
		return ""
	}
	var v *store.Version
	var err error
	if n, nerr := strconv.Atoi(version); nerr == nil {
		v, err = s.deps.Graphs.GetVersion(ctx, graphID, n)
	} else {
		v, err = s.deps.Graphs.LatestVersion(ctx, graphID)
	}
	if err != nil {
		return ""
	}
	def, err := actions.ParseVersion(v)
	if err != nil {
		return ""
	}
	var schema struct {
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if json.Unmarshal(def.Input, &schema) != nil || schema.Properties == nil {
		return fmt.Sprintf("Version %d takes no arguments.", v.Version)
	}
	props, ok := agentRawMembers(schema.Properties)
	if !ok || len(props) == 0 {
		return fmt.Sprintf("Version %d takes no arguments.", v.Version)
	}
	parts := make([]string, len(props))
	for i, pr := range props {
		var prop struct {
			Type any `json:"type"`
		}
		_ = json.Unmarshal([]byte(pr.Value), &prop)
		parts[i] = pr.Key
		if t, ok := prop.Type.(string); ok {
			parts[i] += " (" + t
			if slices.Contains(schema.Required, pr.Key) {
				parts[i] += ", required"
			}
			parts[i] += ")"
		}
	}
	return fmt.Sprintf("The model gives the arguments of version %d's input: %s.", v.Version, strings.Join(parts, ", "))
}

// agentToolProblem puts a problem of a tool beside the part of its card it concerns.
func agentToolProblem(tp *templates.AgentToolsProps, pr designer.Problem) bool {
	rest, ok := strings.CutPrefix(pr.Field, agentToolsPath+".")
	if !ok {
		return false
	}
	num, sub, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n >= len(tp.Cards) {
		return false
	}
	c := &tp.Cards[n]
	best := ""
	for _, part := range c.ErrorParts() {
		if part != "" && len(part) > len(best) && nodeFieldCovers(part, sub) {
			best = part
		}
	}
	if c.Errors == nil {
		c.Errors = map[string]string{}
	}
	c.Errors[best] = strings.TrimSpace(c.Errors[best] + " " + fieldProblemText(pr))
	return true
}

// agentToolChoices lists the published graphs (but this one) and the configured MCP servers.
func (s *Server) agentToolChoices(ctx context.Context, tp *templates.AgentToolsProps, graphID string) error {
	graphs, err := s.deps.Graphs.ListGraphs(ctx)
	if err != nil {
		return err
	}
	for _, g := range graphs {
		if g.LatestVersion > 0 && g.ID != graphID {
			tp.Graphs = append(tp.Graphs, templates.AgentGraphOption{ID: g.ID, Name: g.Name, Latest: g.LatestVersion})
		}
	}
	if s.deps.MCPServers == nil || s.deps.MCPTools == nil {
		tp.ServersNote = "This server cannot reach MCP servers."
		return nil
	}
	servers, err := s.deps.MCPServers.ListMCPServers(ctx)
	if err != nil {
		return err
	}
	for _, m := range servers {
		tp.Servers = append(tp.Servers, m.Name)
	}
	if len(tp.Servers) == 0 {
		tp.ServersNote = "No MCP server is configured yet; an admin adds them on the MCP servers page."
	}
	return nil
}

// agentToolCard reads one tool for its card. Anything the card cannot show as it is (a member
// of an unexpected type, a tool of two kinds) makes it a JSON card, so nothing is hidden.
func agentToolCard(n int, raw json.RawMessage) templates.AgentToolCard {
	c := templates.AgentToolCard{Index: n, Path: fmt.Sprintf("%s.%d", agentToolsPath, n)}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) == nil {
		c.Raw = compact.String()
	}
	asJSON := func(why string) templates.AgentToolCard {
		j := templates.AgentToolCard{Index: c.Index, Path: c.Path, Kind: templates.AgentToolJSON, Raw: c.Raw, JSON: editorIndentJSON(raw), JSONWhy: why}
		if s, ok := nodeRawString(raw); ok {
			j.JSON = s // text typed here that is not JSON yet
		}
		return j
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return asJSON("It is not a JSON object yet.")
	}
	has := func(k string) bool { return m[k] != nil && string(m[k]) != "null" }
	kinds := 0
	for _, k := range []string{"graph", "http", "mcp"} {
		if has(k) {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		return asJSON("It names no kind of tool: give one of graph, http or mcp.")
	case kinds > 1:
		return asJSON("It names more than one kind of tool: keep one of graph, http and mcp.")
	case !agentStrings(m, &c.Name, "name") || !agentStrings(m, &c.Description, "description"):
		return asJSON("Its name and description must be texts.")
	}
	ok := true
	switch {
	case has("graph"):
		c.Kind = templates.AgentToolGraph
		ok = !has("parameters") && agentStrings(m, &c.Graph, "graph") && agentVersion(m["version"], &c.Version)
	case has("mcp"):
		c.Kind = templates.AgentToolMCP
		var mc map[string]json.RawMessage
		ok = json.Unmarshal(m["mcp"], &mc) == nil && agentStrings(mc, &c.Server, "server") && agentStrings(mc, &c.Tool, "tool")
	default:
		c.Kind = templates.AgentToolHTTP
		ok = agentHTTPCard(&c, m["http"]) && agentParamsCard(&c, m["parameters"])
	}
	if !ok {
		return asJSON("Some of its members are of a type the form cannot show.")
	}
	if !agentApprovalCard(&c, m["approval"]) {
		return asJSON("Its approval has members of a type the form cannot show.")
	}
	return c
}

// agentStrings reads string members of an object; a missing one is "".
func agentStrings(m map[string]json.RawMessage, into *string, key string) bool {
	v := m[key]
	if v == nil || string(v) == "null" {
		return true
	}
	return json.Unmarshal(v, into) == nil
}

func agentVersion(v json.RawMessage, into *string) bool {
	if v == nil || string(v) == "null" {
		return true
	}
	var num json.Number
	if json.Unmarshal(v, &num) == nil {
		*into = num.String()
		return true
	}
	return json.Unmarshal(v, into) == nil
}

func agentHTTPCard(c *templates.AgentToolCard, raw json.RawMessage) bool {
	var h map[string]json.RawMessage
	if json.Unmarshal(raw, &h) != nil || !agentStrings(h, &c.Method, "method") || !agentStrings(h, &c.URL, "url") {
		return false
	}
	if c.Method == "" {
		c.Method = http.MethodGet // what the engine sends without one
	}
	if hs := h["headers"]; hs != nil && string(hs) != "null" {
		pairs, ok := nodeStringPairs(hs)
		if !ok {
			return false
		}
		c.Headers = pairs
	}
	if b := h["body"]; b != nil && string(b) != "null" {
		c.Body = editorIndentJSON(b)
	}
	return true
}

// agentParamsCard shows a parameters schema as argument rows when each property is a schema
// with a plain type; any other schema is shown as JSON.
func agentParamsCard(c *templates.AgentToolCard, raw json.RawMessage) bool {
	if raw == nil || string(raw) == "null" {
		c.ParamsRaw = `{"type":"object","properties":{}}`
		return true
	}
	asJSON := func() bool {
		c.ParamsJSON, c.Params = true, editorIndentJSON(raw)
		if s, ok := nodeRawString(raw); ok {
			c.Params = s
		}
		return true
	}
	var root struct {
		Type       string          `json:"type"`
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if json.Unmarshal(raw, &root) != nil || root.Type != "object" {
		return asJSON()
	}
	var props []templates.NodePair // the properties in their order, as raw JSON texts
	if root.Properties != nil {
		var ok bool
		if props, ok = agentRawMembers(root.Properties); !ok {
			return asJSON()
		}
	}
	for _, pr := range props {
		var prop struct {
			Type        string `json:"type"`
			Description string `json:"description"`
		}
		if json.Unmarshal([]byte(pr.Value), &prop) != nil || !slices.Contains(templates.AgentArgTypes, prop.Type) {
			return asJSON()
		}
		c.Args = append(c.Args, templates.AgentToolArg{Name: pr.Key, Type: prop.Type, Description: prop.Description,
			Required: slices.Contains(root.Required, pr.Key), Raw: pr.Value})
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, raw)
	c.ParamsRaw = compact.String()
	return true
}

// agentRawMembers reads a JSON object's members in their order, each value as compact JSON.
func agentRawMembers(raw json.RawMessage) ([]templates.NodePair, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []templates.NodePair
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		var b bytes.Buffer
		_ = json.Compact(&b, v)
		out = append(out, templates.NodePair{Key: kt.(string), Value: b.String()})
	}
	return out, true
}

func agentApprovalCard(c *templates.AgentToolCard, raw json.RawMessage) bool {
	if raw == nil || string(raw) == "null" {
		return true
	}
	var a map[string]json.RawMessage
	if json.Unmarshal(raw, &a) != nil || !agentStrings(a, &c.Assignee, "assignee") || !agentStrings(a, &c.Due, "due") {
		return false
	}
	c.Approval = true
	od := a["on_due"]
	if od == nil || string(od) == "null" {
		return true
	}
	var o map[string]json.RawMessage
	var outcome, to string
	if json.Unmarshal(od, &o) != nil || !agentStrings(o, &outcome, "outcome") || !agentStrings(o, &to, "escalate_to") {
		return false
	}
	_, escalates := o["escalate_to"]
	switch {
	case escalates && outcome == "":
		c.OnDue, c.EscalateTo = "escalate", to // an empty one is the designer's to report
	case !escalates && slices.Contains(designer.ToolOutcomes, outcome):
		c.OnDue = outcome
	default:
		return false // shown as JSON, with the validator's message
	}
	return true
}

// mcpToolsAnswer is what the editor's tools picker gets for a server.
type mcpToolsAnswer struct {
	Server string                 `json:"server"`
	Tools  []designer.MCPToolInfo `json:"tools"`
}

// editorMCPTools asks a configured MCP server for its tools, for the agent tools picker.
func (s *Server) editorMCPTools(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidGraphID(id) {
		return NewError(http.StatusNotFound, defaultMessage(http.StatusNotFound))
	}
	ctx := c.Request().Context()
	if _, err := s.deps.Graphs.GetGraph(ctx, id); err != nil {
		return fmt.Errorf("MCP tools for graph %s: %w", id, err)
	}
	name := c.QueryParam("server")
	if !designer.MCPServerNamePattern.MatchString(name) {
		return NewError(http.StatusBadRequest, "Name an MCP server in ?server= (lowercase letters, digits, _ or -).")
	}
	if s.deps.MCPServers == nil || s.deps.MCPTools == nil {
		return NewError(http.StatusServiceUnavailable, "This server cannot reach MCP servers.")
	}
	servers, err := s.deps.MCPServers.ListMCPServers(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(servers, func(m store.MCPServer) bool { return m.Name == name }) {
		return NewError(http.StatusNotFound, "MCP server "+strconv.Quote(name)+" is not configured.")
	}
	ctx, cancel := context.WithTimeout(ctx, mcpListTimeout)
	defer cancel()
	tools, err := s.deps.MCPTools(ctx, name)
	if err != nil {
		return NewError(http.StatusBadGateway, "MCP server "+name+" could not be asked for its tools: "+err.Error())
	}
	if tools == nil {
		tools = []designer.MCPToolInfo{}
	}
	return c.JSON(http.StatusOK, mcpToolsAnswer{Server: name, Tools: tools})
}
