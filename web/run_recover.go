package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// Recoverer is what the recovery routes need of the engine: act on incidents, pause and
// resume (*engine.Engine implements it; web.Engine embeds it).
type Recoverer interface {
	actions.Recoverer
	// CountHeldRuns is the number of runs held by an incident, for the navigation.
	CountHeldRuns(ctx context.Context) (int, error)
}

// runOperators act on incidents and pause runs: developers (and admins, who have every role).
var runOperators = []string{store.RoleDeveloper}

// runRecoverLimit bounds a recovery request: a skip's output and a comment.
const runRecoverLimit = actions.MaxSkipOutputBytes + 16<<10

// recoverRoutes are the routes of the recovery actions (api.md "Recovering a run").
func (s *Server) recoverRoutes() []Route {
	rows := []Route{}
	for _, a := range []string{engine.ActionRetry, engine.ActionSkip, engine.ActionFail} {
		rows = append(rows,
			Route{Method: http.MethodPost, Path: "/api/v1/runs/:id/nodes/:node/" + a, Roles: runOperators, MaxBody: runRecoverLimit, Handler: s.runIncidentAPI(a)},
			Route{Method: http.MethodPost, Path: "/runs/:id/nodes/:node/" + a, Roles: runOperators, MaxBody: runRecoverLimit, Handler: s.runIncident(a)})
	}
	for _, pause := range []bool{true, false} {
		a := engine.ActionResume
		if pause {
			a = engine.ActionPause
		}
		rows = append(rows,
			Route{Method: http.MethodPost, Path: "/api/v1/runs/:id/" + a, Roles: runOperators, MaxBody: runFormLimit, Handler: s.runPauseAPI(pause)},
			Route{Method: http.MethodPost, Path: "/runs/:id/" + a, Roles: runOperators, MaxBody: runFormLimit, Handler: s.runPause(pause)})
	}
	return rows
}

type runIncidentRequest struct {
	Output  json.RawMessage `json:"output"`
	Port    string          `json:"port"`
	Comment string          `json:"comment"`
}

type runActionResponse struct {
	RunID  string `json:"run_id"`
	Node   string `json:"node,omitempty"`
	Action string `json:"action"`
	Status string `json:"status"`
}

// nodeParam is the :node parameter, checked; a malformed id is a node that does not exist.
func nodeParam(c echo.Context) (string, error) {
	n := c.Param("node")
	if !designer.ValidNodeID(n) {
		return "", NewError(http.StatusNotFound, fmt.Sprintf("There is no node %q.", n))
	}
	return n, nil
}

// decodeOptionalJSON decodes a body that may be empty.
func decodeOptionalJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	return DecodeJSON(c, v)
}

// runIncidentAPI answers POST /api/v1/runs/{id}/nodes/{node}/retry|skip|fail: 202 with the
// node's new status once the run has recorded the action; 409 naming the node's status (or
// the run's, once ended); 400 for a skip whose output is missing.
func (s *Server) runIncidentAPI(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, node, err := runNodeParams(c)
		if err != nil {
			return err
		}
		var req runIncidentRequest
		if err := decodeOptionalJSON(c, &req); err != nil {
			return err
		}
		ns, err := s.actOnIncident(c, actions.IncidentAction{RunID: id, Node: node, Action: action,
			Output: req.Output, Port: req.Port, Comment: req.Comment})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, runActionResponse{RunID: id, Node: node, Action: action, Status: ns.Status})
	}
}

// runIncident is the inspector's retry / skip / fail form: back to the run with the node
// selected. The skip form's output is JSON typed in a text area.
func (s *Server) runIncident(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, node, err := runNodeParams(c)
		if err != nil {
			return err
		}
		a := actions.IncidentAction{RunID: id, Node: node, Action: action, Port: c.FormValue("port"), Comment: c.FormValue("comment")}
		if action == engine.ActionSkip {
			a.Output = json.RawMessage(c.FormValue("output"))
		}
		if _, err := s.actOnIncident(c, a); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, runShowURL(id, ganttView{})+"?node="+url.QueryEscape(node))
	}
}

func runNodeParams(c echo.Context) (string, string, error) {
	id, err := runIDParam(c)
	if err != nil {
		return "", "", err
	}
	node, err := nodeParam(c)
	return id, node, err
}

func (s *Server) actOnIncident(c echo.Context, a actions.IncidentAction) (engine.NodeState, error) {
	a.By = graphActor(c)
	ns, err := actions.ActOnIncident(c.Request().Context(), s.deps.Runs, a)
	if err != nil {
		return ns, err
	}
	s.log.Info("incident action", slog.String("run_id", a.RunID), slog.String("node", a.Node),
		slog.String("action", a.Action), slog.String("by", a.By))
	return ns, nil
}

type runCommentRequest struct {
	Comment string `json:"comment"`
}

// runPauseAPI answers POST /api/v1/runs/{id}/pause and /resume: 202 once recorded; 409
// when the run is already so or has ended.
func (s *Server) runPauseAPI(pause bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := runIDParam(c)
		if err != nil {
			return err
		}
		var req runCommentRequest
		if err := decodeOptionalJSON(c, &req); err != nil {
			return err
		}
		if err := s.pauseRun(c, id, pause, req.Comment); err != nil {
			return err
		}
		resp := runActionResponse{RunID: id, Action: engine.ActionResume, Status: engine.RunRunning}
		if pause {
			resp.Action, resp.Status = engine.ActionPause, engine.RunPaused
		}
		return c.JSON(http.StatusAccepted, resp)
	}
}

// runPause is the run page's pause / resume button.
func (s *Server) runPause(pause bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := runIDParam(c)
		if err != nil {
			return err
		}
		if err := s.pauseRun(c, id, pause, c.FormValue("comment")); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, runShowURL(id, ganttView{}))
	}
}

func (s *Server) pauseRun(c echo.Context, id string, pause bool, comment string) error {
	by := graphActor(c)
	if err := actions.PauseOrResume(c.Request().Context(), s.deps.Runs, id, pause, by, comment); err != nil {
		return err
	}
	s.log.Info("run pause", slog.String("run_id", id), slog.Bool("pause", pause), slog.String("by", by))
	return nil
}

// heldRunsCount is the navigation's count of held runs, which the layout polls for
// developers. It answers 200 always, so that a page never logs an error over a badge.
func (s *Server) heldRunsCount(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	if s.deps.Runs == nil {
		// Every page's navigation asks; without an engine there are no held runs to show.
		return RenderFragment(c, http.StatusOK, templates.HeldRunsNavCount(0, true))
	}
	n, err := s.deps.Runs.CountHeldRuns(c.Request().Context())
	if err != nil {
		s.log.Warn("count held runs", slog.Any("error", err))
	}
	return RenderFragment(c, http.StatusOK, templates.HeldRunsNavCount(n, true))
}
