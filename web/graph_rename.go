package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// graphRename changes a graph's display name (its id stays) from the list's form.
func (s *Server) graphRename(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	err = s.deps.Graphs.RenameGraph(c.Request().Context(), g.ID, name, graphActor(c))
	if errors.Is(err, store.ErrInvalid) {
		p, lerr := s.graphListProps(c)
		if lerr != nil {
			return lerr
		}
		p.Error = "Could not rename " + g.Name + ": " + err.Error() + "."
		return s.renderGraphList(c, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	s.log.Info("graph renamed", slog.String("graph", g.ID), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, "/graphs?renamed="+url.QueryEscape(g.ID))
}
