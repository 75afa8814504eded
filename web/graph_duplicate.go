package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// graphDuplicate copies a graph's draft into a new graph named "… (copy)" and opens it.
// Versions are not copied: the copy starts unpublished. The name is one no other graph has
// ("… (copy 2)" when a copy exists), by the rule that warns on create.
func (s *Server) graphDuplicate(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	name := ""
	for n := 1; n <= maxCopyNumber; n++ {
		if name = copyName(g.Name, n); len(s.graphsNamed(ctx, name, "")) == 0 {
			break
		}
	}
	cp, err := s.deps.Graphs.CreateGraph(ctx, name, g.Draft, graphActor(c))
	if err != nil {
		return err
	}
	s.log.Info("graph duplicated", slog.String("graph", g.ID), slog.String("copy", cp.ID), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, "/graphs/"+cp.ID+"?show=draft")
}

// maxCopyNumber bounds the search for a free name; past it the copy shares a name.
const maxCopyNumber = 50

// copyName is the name of the nth copy of a graph named name, shortened to fit.
func copyName(name string, n int) string {
	suffix := " (copy)"
	if n > 1 {
		suffix = fmt.Sprintf(" (copy %d)", n)
	}
	if max := store.MaxGraphNameLength - utf8.RuneCountInString(suffix); utf8.RuneCountInString(name) > max {
		name = string([]rune(name)[:max])
	}
	return name + suffix
}
