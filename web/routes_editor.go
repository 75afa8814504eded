package web

import (
	"net/http"

	"trellis/store"
)

// editorRoutes are the routes of the visual graph editor: the page and the node settings
// form and the value preview it asks for. The editor saves through the graph API (routes_graphs.go).
func (s *Server) editorRoutes() []Route {
	analyst := []string{store.RoleAnalyst}
	return []Route{
		{Method: http.MethodGet, Path: "/graphs/:id/edit", Roles: analyst, Handler: s.needGraphs(s.editorShow)},
		// The body holds one node and the ids of the others, so it stays small.
		{Method: http.MethodPost, Path: "/graphs/:id/edit/node-form", Roles: analyst, MaxBody: 512 << 10, Handler: s.needGraphs(s.editorNodeForm)},
		// A transform's value, evaluated against the data of the graph's latest run.
		{Method: http.MethodPost, Path: "/graphs/:id/edit/preview", Roles: analyst, MaxBody: 256 << 10, Handler: s.needGraphs(s.editorValuePreview)},
		// A configured MCP server's tools, for an agent's tools picker (asks the server).
		{Method: http.MethodGet, Path: "/graphs/:id/edit/mcp-tools", Roles: analyst, Handler: s.needGraphs(s.editorMCPTools)},
	}
}
