package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// graphListAPI answers GET /api/v1/graphs: [{id, name, latest_version, updated_at, …}].
func (s *Server) graphListAPI(c echo.Context) error {
	list, err := s.deps.Graphs.ListGraphs(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

// graphList shows every graph with the forms that create and import one.
func (s *Server) graphList(c echo.Context) error {
	p, err := s.graphListProps(c)
	if err != nil {
		return err
	}
	// Confirm only what the query names and the list holds, so a link cannot put words on
	// the page.
	if id := c.QueryParam("renamed"); id != "" {
		for _, g := range p.Graphs {
			if g.ID == id {
				p.Notice = fmt.Sprintf("Renamed to %s.", g.Name)
				if others := s.graphsNamed(c.Request().Context(), g.Name, g.ID); len(others) > 0 {
					p.Notice += " " + sameNameWarning(g.Name, others)
				}
			}
		}
	}
	if c.QueryParam("deleted") == "1" {
		p.Notice = "The graph was deleted."
	}
	return s.renderGraphList(c, http.StatusOK, p)
}

func (s *Server) renderGraphList(c echo.Context, status int, p templates.GraphListProps) error {
	return Render(c, status, templates.Page{Title: "Graphs", Section: "/graphs", Body: templates.GraphList(p)})
}

// graphListProps reads the list, with the delete refusals and run counts when the engine
// can count runs.
func (s *Server) graphListProps(c echo.Context) (templates.GraphListProps, error) {
	ctx := c.Request().Context()
	list, err := s.deps.Graphs.ListGraphs(ctx)
	if err != nil {
		return templates.GraphListProps{}, err
	}
	p := templates.GraphListProps{CanEdit: viewer(c).HasRole(store.RoleAnalyst)}
	// Runs of the last day, for all graphs in one query of the store's run rollup.
	var recent map[string]int
	if p.ShowRunsLastDay = s.deps.Runs != nil; p.ShowRunsLastDay {
		if recent, err = s.deps.Graphs.RunsStartedSince(ctx, s.cfg.Now().Add(-24*time.Hour)); err != nil {
			s.log.Warn("count recent runs", slog.Any("error", err))
		}
	}
	users := s.graphSubgraphUsers(ctx, list)
	for _, g := range list {
		row := templates.GraphListRow{ID: g.ID, Name: g.Name, LatestVersion: g.LatestVersion, DraftChanged: g.DraftChanged,
			UpdatedBy: g.UpdatedBy, UpdatedAt: g.UpdatedAt, RunsLastDay: recent[g.ID]}
		if p.CanEdit {
			row.DeleteRefusal = s.graphDeleteRefusal(ctx, g.ID, g.LatestVersion, users[g.ID])
		}
		p.Graphs = append(p.Graphs, row)
	}
	return p, nil
}

// graphSubgraphUsers maps each graph id to the graphs whose draft or latest version run it as
// a subgraph.
func (s *Server) graphSubgraphUsers(ctx context.Context, list []store.GraphSummary) map[string][]string {
	users := map[string][]string{}
	for _, g := range list {
		for _, d := range s.actions.SubgraphDeps(ctx, g.ID) {
			if d != g.ID {
				users[d] = append(users[d], g.ID)
			}
		}
	}
	return users
}

// graphDeleteRefusal says why a graph must not be deleted, or "" when it may be: a graph stays
// while another graph runs it as a subgraph, and while runs of it exist. When the engine
// cannot count runs, a graph that was ever published stays, since runs may need it.
func (s *Server) graphDeleteRefusal(ctx context.Context, id string, latest int, usedBy []string) string {
	if len(usedBy) > 0 {
		return fmt.Sprintf("Cannot delete: %s runs it as a subgraph.", usedBy[0])
	}
	if latest == 0 {
		return ""
	}
	counter := s.deps.Runs
	if counter == nil {
		return "Cannot delete: it has published versions, and runs may use them. Retire its versions instead."
	}
	n, err := counter.CountRuns(ctx, id)
	if err != nil {
		s.log.Warn("count runs", slog.String("graph", id), slog.Any("error", err))
		return "Cannot delete now: its runs could not be counted. Try again later."
	}
	if n > 0 {
		return fmt.Sprintf("Cannot delete: it has %s. Retire its versions instead.", templates.Plural(n, "run"))
	}
	return ""
}
