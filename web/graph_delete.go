package web

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// graphDelete deletes a graph and its versions, unless runs or other graphs need it (see
// graphDeleteRefusal); the refusal is shown on the list.
func (s *Server) graphDelete(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	list, err := s.deps.Graphs.ListGraphs(ctx)
	if err != nil {
		return err
	}
	if why := s.graphDeleteRefusal(ctx, g.ID, g.LatestVersion, s.graphSubgraphUsers(ctx, list)[g.ID]); why != "" {
		p, err := s.graphListProps(c)
		if err != nil {
			return err
		}
		p.Error = g.Name + ": " + why
		return s.renderGraphList(c, http.StatusConflict, p)
	}
	if s.deps.Triggers == nil {
		if err := s.deps.Graphs.DeleteGraph(ctx, g.ID); err != nil {
			return err
		}
		s.log.Info("graph deleted", slog.String("graph", g.ID), slog.String("by", graphActor(c)))
	} else if err := s.triggers().DeleteGraph(ctx, s.deps.Graphs, g.ID, graphActor(c)); err != nil {
		// Its hooks and schedules go with it (issue 16: they were left behind).
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/graphs?deleted=1")
}
