package web

import (
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// graphDuplicate copies a graph's draft into a new graph named "… (copy)" and opens it.
// Versions are not copied: the copy starts unpublished.
func (s *Server) graphDuplicate(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	name := g.Name
	if utf8.RuneCountInString(name) > store.MaxGraphNameLength-len(" (copy)") {
		name = string([]rune(name)[:store.MaxGraphNameLength-len(" (copy)")])
	}
	cp, err := s.deps.Graphs.CreateGraph(c.Request().Context(), name+" (copy)", g.Draft, graphActor(c))
	if err != nil {
		return err
	}
	s.log.Info("graph duplicated", slog.String("graph", g.ID), slog.String("copy", cp.ID), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, "/graphs/"+cp.ID+"?show=draft")
}
