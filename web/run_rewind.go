package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// runRewinders may rewind runs (preview and start): analysts, who start runs, and
// developers, who repair them (admins have every role).
var runRewinders = []string{store.RoleAnalyst, store.RoleDeveloper}

// runRewindLimit bounds a rewind request: a corrected input and corrected outputs.
const runRewindLimit = actions.MaxRunInputBytes + 8*actions.MaxSkipOutputBytes

// rewindRoutes are the routes of "re-run from here".
func (s *Server) rewindRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/runs/:id/rewind", Roles: runRewinders, Handler: s.runRewindPreviewAPI},
		{Method: http.MethodPost, Path: "/api/v1/runs/:id/rewind", Roles: runRewinders, MaxBody: runRewindLimit, Handler: s.runRewindAPI},
		{Method: http.MethodGet, Path: "/runs/:id/rewind", Roles: runRewinders, Handler: s.runRewindPage},
		{Method: http.MethodPost, Path: "/runs/:id/rewind", Roles: runRewinders, MaxBody: runRewindLimit, Handler: s.runRewindSubmit},
	}
}

type runRewindRequest struct {
	From    string                     `json:"from"`
	Version json.RawMessage            `json:"version"`
	Input   json.RawMessage            `json:"input"`
	Outputs map[string]json.RawMessage `json:"outputs"`
}

type runRewindResponse struct {
	RunID string `json:"run_id"`
	*engine.RewindPlan
}

// rewindFrom is the from node of a rewind, checked.
func rewindFrom(from string) (string, error) {
	from = strings.TrimSpace(from)
	if !designer.ValidNodeID(from) {
		return "", NewError(http.StatusBadRequest, "from must name a node of the run, like from=send.").
			WithProblems([]Problem{{Field: "from", Message: "not a node id"}})
	}
	return from, nil
}

// runRewindPreviewAPI answers GET /api/v1/runs/{id}/rewind?from=NODE&version=same|latest|N.
func (s *Server) runRewindPreviewAPI(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	from, err := rewindFrom(c.QueryParam("from"))
	if err != nil {
		return err
	}
	p, err := s.actions.PreviewRewind(c.Request().Context(), s.deps.Runs, id, from, c.QueryParam("version"))
	if err != nil {
		return runError(id, err)
	}
	return c.JSON(http.StatusOK, p)
}

// runRewindAPI answers POST /api/v1/runs/{id}/rewind {from, version?, input?, outputs?}:
// 201 {run_id, version, reused, rerun, why}.
func (s *Server) runRewindAPI(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	var req runRewindRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	from, err := rewindFrom(req.From)
	if err != nil {
		return err
	}
	version, err := rewindVersion(req.Version)
	if err != nil {
		return err
	}
	rw, err := s.actions.Rewind(c.Request().Context(), s.deps.Runs, actions.RewindRequest{RunID: id, From: from,
		Version: version, Input: req.Input, Outputs: req.Outputs, By: graphActor(c)})
	if err != nil {
		return runError(id, err)
	}
	return c.JSON(http.StatusCreated, runRewindResponse{RunID: rw.RunID, RewindPlan: rw.Plan})
}

// rewindVersion reads a version given as "same", "latest", a number or a numeric string.
func rewindVersion(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return strconv.Itoa(n), nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	return "", NewError(http.StatusBadRequest, `version must be "same", "latest" or a version number.`).
		WithProblems([]Problem{{Field: "version", Message: "not a version"}})
}

// runRewindPage is the preview of "rewind from here": the version choice, what is reused and
// what runs again (and why), and editors for the input and the carried-over outputs.
func (s *Server) runRewindPage(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	from, err := rewindFrom(c.QueryParam("from"))
	if err != nil {
		return err
	}
	version := c.QueryParam("version")
	props, err := s.rewindProps(c, id, from, version)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Rewind run " + id, Section: "/runs",
		Body: templates.RunRewind(props)})
}

func (s *Server) rewindProps(c echo.Context, id, from, version string) (templates.RunRewindProps, error) {
	ctx := c.Request().Context()
	p, err := s.actions.PreviewRewind(ctx, s.deps.Runs, id, from, version)
	if err != nil {
		return templates.RunRewindProps{}, runError(id, err)
	}
	run, err := s.deps.Runs.GetRun(ctx, id)
	if err != nil {
		return templates.RunRewindProps{}, runError(id, err)
	}
	props := templates.RunRewindProps{RunID: id, RunURL: runShowURL(id, ganttView{}), From: from, Version: version,
		TargetVersion: p.Version, RunVersion: run.Version, Input: rewindJSON(run.Input)}
	if props.Version == "" {
		props.Version = "same"
	}
	if s.deps.Graphs != nil {
		if vs, err := s.deps.Graphs.ListVersions(ctx, run.Graph); err == nil {
			for _, v := range vs {
				if !v.Retired {
					props.Versions = append(props.Versions, v.Version)
				}
			}
		}
	}
	for _, n := range p.Reused {
		props.Reused = append(props.Reused, templates.RewindNode{ID: n, Output: rewindJSON(run.Nodes[n].Output)})
	}
	for _, n := range p.Rerun {
		props.Rerun = append(props.Rerun, templates.RewindNode{ID: n, Why: p.Why[n]})
	}
	return props, nil
}

func rewindJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "null"
	}
	return string(b)
}

// runRewindSubmit starts the rewind from the preview's form and opens the new run. The
// input and each output are sent only when changed from the recorded value.
func (s *Server) runRewindSubmit(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	from, err := rewindFrom(c.FormValue("from"))
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	req := actions.RewindRequest{RunID: id, From: from, Version: c.FormValue("version"), By: graphActor(c)}
	if in := c.FormValue("input"); strings.TrimSpace(in) != strings.TrimSpace(c.FormValue("input_recorded")) {
		req.Input = json.RawMessage(in)
	}
	for key, vals := range form {
		node, ok := strings.CutPrefix(key, "output.")
		if !ok || len(vals) == 0 {
			continue
		}
		if strings.TrimSpace(vals[0]) != strings.TrimSpace(form.Get("recorded."+node)) {
			if req.Outputs == nil {
				req.Outputs = map[string]json.RawMessage{}
			}
			req.Outputs[node] = json.RawMessage(vals[0])
		}
	}
	rw, err := s.actions.Rewind(c.Request().Context(), s.deps.Runs, req)
	if err != nil {
		return runError(id, err)
	}
	return c.Redirect(http.StatusSeeOther, runShowURL(rw.RunID, ganttView{})+"?notice=rewound&from_run="+url.QueryEscape(id))
}
