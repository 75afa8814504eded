package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/templates"
)

// runMigrators may move running runs to a newer version: analysts, who publish versions,
// and developers, who repair runs (admins have every role).
var runMigrators = runRewinders

// migrateRoutes are the routes of moving a running run to a newer version.
func (s *Server) migrateRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/runs/:id/migrate", Roles: runMigrators, Handler: s.runMigratePreviewAPI},
		{Method: http.MethodPost, Path: "/api/v1/runs/:id/migrate", Roles: runMigrators, MaxBody: runFormLimit, Handler: s.runMigrateAPI},
		{Method: http.MethodGet, Path: "/runs/:id/migrate", Roles: runMigrators, Handler: s.runMigratePage},
		{Method: http.MethodPost, Path: "/runs/:id/migrate", Roles: runMigrators, MaxBody: runFormLimit, Handler: s.runMigrateSubmit},
	}
}

var migrateAPIOps = []apiOp{
	{Method: "GET", Path: "/api/v1/runs/:id/migrate", Tag: "runs", Summary: "Whether a running run can move to version to: {run_id, from, to, compatible, problems: [{node, message}]}; 422 for an older, unknown or retired version", Query: []string{"to"}, Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/:id/migrate", Tag: "runs", Summary: "Move a running run to a newer version ({to, comment?}) at its next step: {version}; 409 with the problems when a started or finished node is missing or changed in kind, 422 for an older, unknown or retired version", Body: "Any", Status: 200, Answer: "Any"},
}

func init() { apiOps = append(apiOps, migrateAPIOps...) }

// migrateTo reads the version to move to: a number from 1.
func migrateTo(text string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(text), "v"))
	if err != nil || n < 1 {
		return 0, NewError(http.StatusUnprocessableEntity, "to must be the number of a newer version of the run's graph, like to=3.").
			WithProblems([]Problem{{Field: "to", Message: "not a version number"}})
	}
	return n, nil
}

// runMigratePreviewAPI answers GET /api/v1/runs/{id}/migrate?to=N.
func (s *Server) runMigratePreviewAPI(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	to, err := migrateTo(c.QueryParam("to"))
	if err != nil {
		return err
	}
	p, err := s.actions.PreviewMigrate(c.Request().Context(), id, to)
	if err != nil {
		return runError(id, err)
	}
	return c.JSON(http.StatusOK, p)
}

type runMigrateRequest struct {
	To      *int   `json:"to"`
	Comment string `json:"comment"`
}

// runMigrateAPI answers POST /api/v1/runs/{id}/migrate {to, comment?}: 200 {version}.
func (s *Server) runMigrateAPI(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	var req runMigrateRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.To == nil {
		return NewError(http.StatusUnprocessableEntity, "Give the version to move to (to).").
			WithProblems([]Problem{{Field: "to", Message: "missing"}})
	}
	to, err := migrateTo(strconv.Itoa(*req.To))
	if err != nil {
		return err
	}
	v, err := s.actions.Migrate(c.Request().Context(), id, to, graphActor(c), req.Comment)
	if err != nil {
		return runError(id, err)
	}
	return c.JSON(http.StatusOK, map[string]int{"version": v})
}

// runMigratePage previews a move: the newer versions to choose from, and whether the run can
// move to the one chosen (the latest by default), with a button when it can.
func (s *Server) runMigratePage(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	run, err := s.deps.Runs.GetRun(ctx, id)
	if err != nil {
		return runError(id, err)
	}
	props := templates.RunMigrateProps{RunID: id, RunURL: runShowURL(id, ganttView{}), From: run.Version}
	if s.deps.Graphs != nil {
		if vs, err := s.deps.Graphs.ListVersions(ctx, run.Graph); err == nil {
			for _, v := range vs {
				if !v.Retired && v.Version > run.Version {
					props.Versions = append(props.Versions, v.Version)
				}
			}
		}
	}
	if q := c.QueryParam("to"); q != "" {
		if props.To, err = migrateTo(q); err != nil {
			return err
		}
	} else if len(props.Versions) > 0 {
		props.To = props.Versions[0]
	}
	if props.To > 0 {
		p, err := s.actions.PreviewMigrate(ctx, id, props.To)
		if err != nil {
			return runError(id, err)
		}
		props.Compatible = p.Compatible
		for _, pr := range p.Problems {
			props.Problems = append(props.Problems, migrateProblemText(pr))
		}
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Move run " + id, Section: "/runs", Body: templates.RunMigrate(props)})
}

func migrateProblemText(p designer.Problem) string {
	if p.Node == "" {
		return p.Message
	}
	return "node " + p.Node + ": " + p.Message
}

// runMigrateSubmit moves the run from the preview's form and opens it.
func (s *Server) runMigrateSubmit(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	to, err := migrateTo(c.FormValue("to"))
	if err != nil {
		return err
	}
	v, err := s.actions.Migrate(c.Request().Context(), id, to, graphActor(c), c.FormValue("comment"))
	if err != nil {
		return runError(id, err)
	}
	return c.Redirect(http.StatusSeeOther, runShowURL(id, ganttView{})+"?notice=moved&version="+url.QueryEscape(strconv.Itoa(v)))
}
