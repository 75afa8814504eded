package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// runHistory answers GET /runs/{id}/history and GET /api/v1/runs/{id}/history: the run's raw
// Temporal history as JSON (the format `temporal workflow show --output json` writes and the
// SDK's replayer reads), as a download.
func (s *Server) runHistory(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	b, err := s.deps.Runs.RunHistory(c.Request().Context(), id)
	if err != nil {
		return runError(id, err)
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-history.json"`, id))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}
