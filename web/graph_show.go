package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

type graphShowResponse struct {
	ID             string             `json:"id"`
	Name           string             `json:"name"`
	Draft          json.RawMessage    `json:"draft"`
	Problems       []designer.Problem `json:"problems"`
	Revision       int64              `json:"revision"`
	DraftUpdatedAt time.Time          `json:"draft_updated_at"`
	DraftUpdatedBy string             `json:"draft_updated_by"`
	LatestVersion  int                `json:"latest_version"`
	Versions       []store.Version    `json:"versions"`
}

// graphShowAPI answers GET /api/v1/graphs/{id}: the draft with its problems and revision
// (also in ETag, for If-Match on PUT …/draft) and the versions, newest first.
func (s *Server) graphShowAPI(c echo.Context) error {
	ctx := c.Request().Context()
	g, versions, err := s.graphVersionsParam(c)
	if err != nil {
		return err
	}
	_, problems := s.draftProblems(ctx, g)
	setDraftRevision(c, g.DraftRevision)
	return c.JSON(http.StatusOK, graphShowResponse{
		ID: g.ID, Name: g.Name, Draft: g.Draft, Problems: problems, Revision: g.DraftRevision,
		DraftUpdatedAt: g.DraftUpdatedAt, DraftUpdatedBy: g.DraftUpdatedBy, LatestVersion: g.LatestVersion,
		Versions: versions,
	})
}

// graphShow is a graph's overview: the latest version drawn (or the draft), the draft's
// problems, the publish form and the history of versions.
func (s *Server) graphShow(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	p, err := s.graphOverviewProps(c, g, c.QueryParam("show") == "draft")
	if err != nil {
		return err
	}
	p.Notice = graphOverviewNotice(c, p)
	if c.QueryParam("imported") == "1" {
		if others := s.graphsNamed(c.Request().Context(), g.Name, g.ID); len(others) > 0 {
			p.Warning = sameNameWarning(g.Name, others) + " Rename one of them so that people can tell them apart."
		}
	}
	return s.renderGraphOverview(c, http.StatusOK, p)
}

func (s *Server) renderGraphOverview(c echo.Context, status int, p templates.GraphOverviewProps) error {
	return Render(c, status, templates.Page{Title: p.Header.Name, Section: "/graphs", Body: templates.GraphOverview(p)})
}

// graphOverviewNotice confirms an action that redirected here; it names only versions that exist.
func graphOverviewNotice(c echo.Context, p templates.GraphOverviewProps) string {
	has := func(param string) (int, bool) {
		n, err := strconv.Atoi(c.QueryParam(param))
		if err != nil {
			return 0, false
		}
		for _, v := range p.Versions {
			if v.Version == n {
				return n, true
			}
		}
		return 0, false
	}
	if n, ok := has("published"); ok {
		return fmt.Sprintf("Published version %d.", n)
	}
	if n, ok := has("restored"); ok {
		return fmt.Sprintf("The draft is now a copy of version %d.", n)
	}
	if n, ok := has("retired"); ok {
		return fmt.Sprintf("Version %d is retired: no new runs can start on it.", n)
	}
	if c.QueryParam("imported") == "1" {
		if len(p.Problems) > 0 {
			return fmt.Sprintf("Imported. The draft has %s, listed below; fix them in the editor before publishing.", templates.Plural(len(p.Problems), "problem"))
		}
		return "Imported. The draft has no problems and can be published."
	}
	return ""
}

// graphOverviewProps reads everything the overview shows.
func (s *Server) graphOverviewProps(c echo.Context, g *store.Graph, showDraft bool) (templates.GraphOverviewProps, error) {
	ctx := c.Request().Context()
	versions, err := s.deps.Graphs.ListVersions(ctx, g.ID)
	if err != nil {
		return templates.GraphOverviewProps{}, err
	}
	canEdit := viewer(c).HasRole(store.RoleAnalyst)
	cd, derr := s.checkGraphDoc(ctx, g.Draft, g.ID)
	var draft *designer.Graph
	var problems []designer.Problem
	if derr != nil {
		problems = []designer.Problem{{Message: AsError(derr).Message}}
	} else {
		draft, problems = cd.Graph, cd.Problems
	}
	p := templates.GraphOverviewProps{
		Header:   templates.GraphHeaderProps{ID: g.ID, Name: g.Name, Current: "overview", LatestVersion: g.LatestVersion, CanEdit: canEdit},
		Revision: g.DraftRevision, DraftBy: g.DraftUpdatedBy, DraftAt: g.DraftUpdatedAt,
		Problems: graphProblemRows(draft, problems), Versions: graphVersionRows(versions), CanEdit: canEdit,
		DraftChanged: true,
	}
	shown := draft
	p.ShowingDraft = true
	if len(versions) > 0 {
		latest, err := s.deps.Graphs.GetVersion(ctx, g.ID, versions[0].Version)
		if err != nil {
			return p, err
		}
		if cd != nil && cd.Hash != "" {
			// Compare as publishing would: subgraphs pinned, as the version was.
			if _, hash, probs, err := s.actions.Pin(ctx, cd.Graph); err == nil && len(probs) == 0 && hash == latest.Hash {
				p.DraftChanged = false
				p.Publish.Unchanged = noChangesSince(latest.Version)
			}
		}
		if !showDraft {
			lg, err := parseVersionDefinition(latest)
			if err != nil {
				return p, err
			}
			shown, p.ShowingDraft = lg, false
		}
	}
	if shown == nil {
		shown = &designer.Graph{}
		p.DrawingNote = "The draft cannot be drawn: it is not a graph document."
	} else if len(shown.Nodes) == 0 {
		p.DrawingNote = "No steps yet. Open the editor to add some."
	}
	p.Description = shown.Description
	p.Drawing = templates.GraphSVGProps{Graph: shown, ID: "overview", Title: graphDrawingTitle(g.Name, p.ShowingDraft, p.Header.LatestVersion)}
	if p.ShowingDraft {
		p.Drawing.NodeClass, p.Drawing.NodeNote = graphProblemMarks(problems)
	}
	return p, nil
}

func graphDrawingTitle(name string, draft bool, version int) string {
	if draft {
		return name + ", draft"
	}
	return fmt.Sprintf("%s, version %d", name, version)
}

// graphProblemMarks marks the nodes that have problems, for the drawing.
func graphProblemMarks(problems []designer.Problem) (map[string]string, map[string]string) {
	class, note := map[string]string{}, map[string]string{}
	for _, pr := range problems {
		if pr.Node == "" {
			continue
		}
		class[pr.Node] = "has-problem"
		if note[pr.Node] == "" {
			note[pr.Node] = pr.Message
		}
	}
	return class, note
}

func graphVersionRows(versions []store.Version) []templates.GraphVersionRow {
	rows := make([]templates.GraphVersionRow, 0, len(versions))
	for _, v := range versions {
		rows = append(rows, templates.GraphVersionRow{Version: v.Version, Note: v.Note, Author: v.Author,
			CreatedAt: v.CreatedAt, Hash: v.Hash, Retired: v.Retired})
	}
	return rows
}

// graphProblemRows turns problems into list rows; g (may be nil) names the ends of edges.
func graphProblemRows(g *designer.Graph, problems []designer.Problem) []templates.ProblemRow {
	rows := make([]templates.ProblemRow, 0, len(problems))
	for _, pr := range problems {
		var where []string
		if pr.Node != "" {
			where = append(where, "node "+pr.Node)
		}
		if pr.Edge != nil {
			e := fmt.Sprintf("edge %d", *pr.Edge+1)
			if g != nil && *pr.Edge >= 0 && *pr.Edge < len(g.Edges) {
				ed := g.Edges[*pr.Edge]
				e += fmt.Sprintf(" (%s → %s)", ed.From, ed.To)
			}
			where = append(where, e)
		}
		if pr.Field != "" {
			where = append(where, pr.Field)
		}
		if pr.Column > 0 {
			where = append(where, fmt.Sprintf("column %d", pr.Column))
		}
		rows = append(rows, templates.ProblemRow{NodeID: pr.Node, Where: strings.Join(where, " · "), Message: sentence(pr.Message)})
	}
	return rows
}
