package web

import "net/http"

// mcpRoutes are the MCP server's (mcp.go). Any signed-in user may connect; the tools are only
// for users who may start runs. Stateless streamable HTTP needs only POST (GET and DELETE,
// for MCP sessions, answer 405).
func (s *Server) mcpRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/mcp", MaxBody: graphRunStartLimit, Handler: s.needGraphs(s.needRuns(s.mcpServe))},
	}
}
