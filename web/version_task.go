package web

import (
	"log/slog"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// taskVersionNote tells a task's page when the latest version differs from the task's at its
// step or downstream; nil when not, or when it cannot be told (logged: the page goes on).
func (s *Server) taskVersionNote(c echo.Context, t *store.Task) *templates.TaskVersionNote {
	if s.deps.Graphs == nil || t.Version < 1 {
		return nil
	}
	d, err := s.actions.TaskVersionDrift(c.Request().Context(), t.GraphID, t.Version, t.NodeID)
	if err != nil {
		s.log.Warn("compare a task's version with the latest", slog.String("task", t.ID), slog.Any("error", err))
		return nil
	}
	if d == nil {
		return nil
	}
	return &templates.TaskVersionNote{Version: d.Version, Latest: d.Latest, Nodes: d.Nodes,
		DiffURL: "/graphs/" + url.PathEscape(t.GraphID) + "/diff?" + url.Values{"from": {strconv.Itoa(d.Version)}, "to": {strconv.Itoa(d.Latest)}}.Encode()}
}
