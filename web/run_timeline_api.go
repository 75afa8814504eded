package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// runTimelineAPI answers GET /api/v1/runs/{run_id}/timeline: [{node, kind, attempt, status,
// scheduled_at, started_at, ended_at, error, step, …}] in time order, built from the run's
// Temporal history: one entry per activity attempt, timer, child run, local activity and
// decision.
func (s *Server) runTimelineAPI(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	tl, err := s.deps.Runs.Timeline(c.Request().Context(), id)
	if err != nil {
		return runError(id, err)
	}
	return c.JSON(http.StatusOK, tl.Entries)
}
