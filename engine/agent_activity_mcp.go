package engine

import (
	"context"
	"errors"
)

// activityAgentMCP is one call of an agent's MCP tool.
const activityAgentMCP = "agent.mcp"

func init() {
	registerActivity(activityAgentMCP, func(d *Deps) any { return newMCPActivity(d).call })
}

// mcpCallRequest is the MCP activity's input: the server by its configured name, the tool
// and the model's arguments.
type mcpCallRequest struct {
	RunID  string `json:"run_id"`
	CallID string `json:"call_id"`
	Server string `json:"server"`
	Tool   string `json:"tool"`
	Args   any    `json:"args"`
}

type mcpActivity struct {
	client *MCPClient
	err    error
}

func newMCPActivity(d *Deps) *mcpActivity {
	c, err := NewMCPClient(d.MCPServers, d.Secrets, d.Outbound)
	return &mcpActivity{client: c, err: err}
}

// call runs the tool. A server that is not configured, or an address the outbound policy
// refuses, fails at once; a server that cannot be reached is retried like an http call.
func (a *mcpActivity) call(ctx context.Context, req mcpCallRequest) (activityResult[mcpOutcome], error) {
	var zero activityResult[mcpOutcome]
	if a.err != nil {
		return zero, activityFailure(ctx, ErrTypeMCP, false, "MCP client: %v", a.err)
	}
	cctx, cancel := context.WithTimeout(ctx, mcpCallTimeout)
	defer cancel()
	out, err := a.client.call(cctx, req.Server, req.Tool, req.Args)
	if err != nil {
		if ctx.Err() != nil {
			return zero, ctx.Err()
		}
		if be, ok := asBlocked(err); ok {
			return zero, activityFailure(ctx, ErrTypeHTTPBlocked, false, "MCP server %s: %s", req.Server, be.Error())
		}
		retry := !errors.Is(err, ErrMCPServerNotFound) && !errors.Is(err, ErrSecretNotFound)
		return zero, activityFailure(ctx, ErrTypeMCP, retry, "%v", err)
	}
	return resultOf(ctx, out), nil
}
