package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

type healthBody struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// healthCheck answers 200 {"status":"ok"} when the store and Temporal are reachable and 503
// {"status":"unavailable","error":…} otherwise. It needs no sign-in.
func (s *Server) healthCheck(c echo.Context) error {
	if s.deps.Health != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
		defer cancel()
		if err := s.deps.Health(ctx); err != nil {
			s.log.Warn("health check failed", slog.Any("error", err))
			return c.JSON(http.StatusServiceUnavailable, healthBody{Status: "unavailable", Error: err.Error()})
		}
	}
	return c.JSON(http.StatusOK, healthBody{Status: "ok"})
}
