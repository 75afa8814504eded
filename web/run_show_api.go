package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// runShowAPI answers GET /api/v1/runs/{run_id}: {run_id, graph, version, status, input,
// output, error, nodes: {ID: {status, attempts, output, error, started_at, ended_at}}}.
func (s *Server) runShowAPI(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	run, err := s.deps.Runs.GetRun(c.Request().Context(), id)
	if err != nil {
		return runError(id, err)
	}
	return c.JSON(http.StatusOK, run)
}
