package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"trellis/actions"
	"trellis/engine"
	"trellis/store"
)

// The MCP server (/mcp, streamable HTTP): every published graph with an object input schema
// is a tool that starts a run of its latest version that is not retired, so assistants that
// speak MCP can start Trellis workflows. It signs in with an API token like /api/v1, and the
// token's user's roles apply: only users who may start runs see or call tools.

// defaultMCPWait is how long a tool call waits for its run to end before answering with the
// run's id and a link instead of its output.
const defaultMCPWait = 30 * time.Second

// mcpServe answers one MCP request. The server is stateless (no MCP session between
// requests), and built per request for the signed-in user, so the tools are always the
// graphs published now.
func (s *Server) mcpServe(c echo.Context) error {
	u := CurrentUser(c)
	srv := mcp.NewServer(&mcp.Implementation{Name: "trellis", Title: "Trellis workflows", Version: "1"}, nil)
	if u != nil && slices.ContainsFunc(runStarters, u.HasRole) {
		if err := s.mcpAddGraphTools(c, srv, u); err != nil {
			return err
		}
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, MaxRequestBodyBytes: graphRunStartLimit})
	h.ServeHTTP(c.Response(), c.Request())
	return nil
}

// mcpAddGraphTools adds a tool per published graph whose input schema is an object (MCP tools
// take an object of arguments).
func (s *Server) mcpAddGraphTools(c echo.Context, srv *mcp.Server, u *store.User) error {
	ctx := c.Request().Context()
	graphs, err := s.deps.Graphs.ListGraphs(ctx)
	if err != nil {
		return err
	}
	base := c.Scheme() + "://" + c.Request().Host
	for _, g := range graphs {
		if g.LatestVersion == 0 {
			continue
		}
		v, err := s.actions.PickVersion(ctx, g.ID, 0)
		if err != nil {
			continue // every version retired: nothing to start
		}
		def, err := actions.ParseVersion(v)
		if err != nil || len(def.Input) == 0 {
			continue
		}
		var schema map[string]any
		if json.Unmarshal(def.Input, &schema) != nil || schema["type"] != "object" {
			continue
		}
		desc := def.Description
		if desc == "" {
			desc = fmt.Sprintf("Starts a run of the Trellis graph %q.", g.Name)
		}
		tool := &mcp.Tool{
			Name:        g.ID,
			Title:       g.Name,
			Description: desc + " Returns the run's output when it ends within " + s.mcpWait().String() + ", otherwise the run's id and a link to follow it.",
			InputSchema: schema,
		}
		srv.AddTool(tool, s.mcpStartRun(g.ID, u.Name, base))
	}
	return nil
}

func (s *Server) mcpWait() time.Duration {
	if s.cfg.MCPWait > 0 {
		return s.cfg.MCPWait
	}
	return defaultMCPWait
}

// mcpToolAnswer is the structured result of a tool call.
type mcpToolAnswer struct {
	RunID   string `json:"run_id"`
	Version int    `json:"version"`
	Status  string `json:"status"`
	Output  any    `json:"output,omitempty"`
	Error   string `json:"error,omitempty"`
	URL     string `json:"url"`
}

// mcpStartRun is a graph tool's handler: start the run through the same action as the API,
// then wait for it to end. Refusals (input that does not fit the schema) go back to the
// caller as a tool error, so a model can correct its arguments.
func (s *Server) mcpStartRun(graphID, by, base string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var input any = map[string]any{}
		if args := req.Params.Arguments; len(args) > 0 && string(args) != "null" {
			v, err := decodeRunInput(args)
			if err != nil {
				return mcpToolError(err), nil
			}
			input = v
		}
		run, err := s.actions.StartRun(ctx, actions.StartRequest{GraphID: graphID, Input: input, By: by})
		if err != nil {
			return mcpToolError(err), nil
		}
		ans := mcpToolAnswer{RunID: run.RunID, Version: run.Version, Status: engine.RunRunning,
			URL: base + "/runs/" + url.PathEscape(run.RunID)}
		r, err := s.mcpAwaitRun(ctx, run.RunID)
		if err != nil {
			return nil, err
		}
		if r != nil {
			ans.Status = r.Status
			if r.EndedAt != nil {
				ans.Output = r.Output
				if r.Error != nil {
					ans.Error = r.Error.Message
				}
			}
		}
		b, err := json.Marshal(ans)
		if err != nil {
			return nil, err
		}
		text := string(b)
		if r == nil || r.EndedAt == nil {
			text = fmt.Sprintf("The run %s is still going (%s); follow it at %s. %s", ans.RunID, ans.Status, ans.URL, b)
		}
		return &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: text}},
			StructuredContent: ans,
			IsError:           r != nil && r.EndedAt != nil && r.Status != engine.RunCompleted,
		}, nil
	}
}

// mcpAwaitRun reads the run until it has ended or the wait is over, woken by the worker's
// hints where there are any; it returns the last state read (nil if none could be read).
func (s *Server) mcpAwaitRun(ctx context.Context, runID string) (*engine.Run, error) {
	var hints <-chan struct{}
	if s.deps.Notifier != nil {
		ch, stop := s.deps.Notifier.Subscribe(runID)
		defer stop()
		hints = ch
	}
	wait := time.NewTimer(s.mcpWait())
	defer wait.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last *engine.Run
	for {
		if r, err := s.deps.Runs.GetRun(ctx, runID); err == nil {
			last = r
			if r.EndedAt != nil {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wait.C:
			return last, nil
		case <-hints:
		case <-tick.C:
		}
	}
}

// mcpToolError is a refused call as a tool error: the message, and where the input does not
// fit, each path and problem.
func mcpToolError(err error) *mcp.CallToolResult {
	msg := err.Error()
	var ae *actions.Error
	if errors.As(err, &ae) {
		var b strings.Builder
		b.WriteString(ae.Message)
		for _, p := range ae.Input {
			fmt.Fprintf(&b, "\n- %s: %s", p.Path, p.Message)
		}
		msg = b.String()
	}
	var he *Error
	if errors.As(err, &he) {
		msg = he.Message
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: msg}}, IsError: true}
}
