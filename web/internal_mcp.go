package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/engine"
)

// MCPWorkerSource is a WorkerSource that also gives remote workers the MCP servers their
// agents' mcp tools call.
type MCPWorkerSource interface {
	MCPServer(ctx context.Context, name string) (*engine.MCPServerConfig, error)
}

// internalMCPServerShow answers GET /api/v1/internal/mcp-servers/{name} with the server as
// engine.MCPServerConfig; its bearer token stays a secret's name.
func (s *Server) internalMCPServerShow(c echo.Context) error {
	name := c.Param("name")
	src, ok := s.deps.Worker.(MCPWorkerSource)
	if !ok {
		return NewError(http.StatusNotFound, fmt.Sprintf("No MCP server named %s is configured.", name))
	}
	m, err := src.MCPServer(c.Request().Context(), name)
	if errors.Is(err, engine.ErrMCPServerNotFound) {
		return NewError(http.StatusNotFound, fmt.Sprintf("No MCP server named %s is configured.", name))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}
