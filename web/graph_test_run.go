package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// A test run runs a graph's draft once, without publishing it: the analyst's "does this
// work?" from the editor. It is a run like any other, marked as a draft (version 0), so it
// never counts as a version's run and lists show it only when asked for drafts.

type graphTestRunRequest struct {
	Input json.RawMessage `json:"input"`
	// Revision, when given, must be the current draft revision: test what you saw.
	Revision int64 `json:"revision"`
}

type graphTestRunResponse struct {
	RunID string `json:"run_id"`
	Draft bool   `json:"draft"`
}

// draftForTestRun is the draft as it would run: checked as publishing checks it, with its
// subgraphs' "latest" pinned to version numbers. A draft that cannot run is a 422 with the
// problems; revision, when not 0, must be the draft's current revision (409).
func (s *Server) draftForTestRun(ctx context.Context, g *store.Graph, revision int64) (*designer.Graph, error) {
	if revision != 0 && revision != g.DraftRevision {
		return nil, NewError(http.StatusConflict, fmt.Sprintf(
			"The draft changed since the test run was prepared (it is at revision %d, saved by %s); start the test run again.",
			g.DraftRevision, g.DraftUpdatedBy))
	}
	cd, err := s.checkGraphDoc(ctx, g.Draft, g.ID)
	if err != nil {
		e := NewError(http.StatusUnprocessableEntity, "The draft cannot run: "+AsError(err).Message)
		e.Err = err
		return nil, e
	}
	if len(cd.Problems) > 0 {
		return nil, NewError(http.StatusUnprocessableEntity,
			fmt.Sprintf("The draft has %s; fix them before a test run.", templates.Plural(len(cd.Problems), "problem"))).WithProblems(graphProblems(cd.Problems))
	}
	latest := func(id string) (int, bool) {
		v, err := s.deps.Graphs.LatestVersion(ctx, id)
		if err != nil {
			return 0, false
		}
		return v.Version, true
	}
	if probs := designer.ResolveSubgraphVersions(cd.Graph, latest); len(probs) > 0 {
		return nil, NewError(http.StatusUnprocessableEntity, "A subgraph has no published version to run.").WithProblems(graphProblems(probs))
	}
	// MCP tools get their server's schema now, as publishing pins it.
	if designer.HasMCPTools(cd.Graph) {
		list := func(server string) ([]designer.MCPToolInfo, error) {
			if s.deps.MCPTools == nil {
				return nil, errors.New("this server cannot reach MCP servers")
			}
			return s.deps.MCPTools(ctx, server)
		}
		if probs := designer.PinMCPTools(cd.Graph, list); len(probs) > 0 {
			return nil, NewError(http.StatusUnprocessableEntity, "An MCP tool cannot run: "+probs[0].Message).WithProblems(graphProblems(probs))
		}
	}
	return cd.Graph, nil
}

// startDraftRun starts a test run of a draft's definition with a checked input.
func (s *Server) startDraftRun(ctx context.Context, graphID string, def *designer.Graph, input any, by string) (string, error) {
	return s.actions.StartDraft(ctx, graphID, def, input, by)
}

// draftInputSchema compiles the draft's input schema (a valid draft's always compiles).
func draftInputSchema(def *designer.Graph) (*designer.Schema, error) {
	sch, err := designer.CompileSchema(def.Input)
	if err != nil {
		e := NewError(http.StatusUnprocessableEntity, fmt.Sprintf("The draft's input schema cannot be used: %v.", err))
		e.Err = err
		return nil, e
	}
	return sch, nil
}

// graphTestRunProps is the test-run form of the draft, or why there is none.
func (s *Server) graphTestRunProps(ctx context.Context, g *store.Graph, revision int64) (templates.TestRunProps, *designer.Graph, error) {
	p := templates.TestRunProps{GraphID: g.ID, GraphName: g.Name, Revision: g.DraftRevision}
	if s.deps.Runs == nil {
		p.Refusal = "Runs cannot start: this server is not connected to the workflow engine."
		return p, nil, nil
	}
	def, err := s.draftForTestRun(ctx, g, revision)
	if ae := AsError(err); err != nil && ae.Status < 500 {
		p.Refusal = ae.Message
		for _, pr := range ae.Problems {
			p.Problems = append(p.Problems, pr.Text())
		}
		return p, nil, nil
	}
	if err != nil {
		return p, nil, err
	}
	if p.Form, err = graphRunForm(g.ID, engine.DraftVersion, def); err != nil {
		return p, nil, err
	}
	return p, def, nil
}

func (s *Server) renderTestRun(c echo.Context, status int, p templates.TestRunProps) error {
	if isHTMX(c) {
		return RenderFragment(c, status, templates.TestRunBody(p))
	}
	return Render(c, status, templates.Page{Title: "Test run of " + p.GraphName, Section: "/graphs", Body: templates.TestRunPage(p)})
}

// graphTestRunNew is the test-run form made from the draft's input schema: the editor's
// dialog loads it as a fragment; without JavaScript it is a page of its own.
func (s *Server) graphTestRunNew(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	p, _, err := s.graphTestRunProps(c.Request().Context(), g, 0)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if p.Refusal != "" {
		status = http.StatusUnprocessableEntity
	}
	return s.renderTestRun(c, status, p)
}

// graphTestRunSubmit starts a test run from the form: inline errors when the input does not
// fit; else the run's page, or for the editor (htmx) the started run to follow on the canvas.
func (s *Server) graphTestRunSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	var revision int64
	if r := c.FormValue("revision"); r != "" {
		if revision, err = strconv.ParseInt(r, 10, 64); err != nil {
			return NewError(http.StatusBadRequest, "revision must be a draft revision number.")
		}
	}
	p, def, err := s.graphTestRunProps(ctx, g, revision)
	if err != nil {
		return err
	}
	if def == nil {
		return s.renderTestRun(c, http.StatusUnprocessableEntity, p)
	}
	sch, err := draftInputSchema(def)
	if err != nil {
		return err
	}
	id, status, err := startFromRunForm(c, &p.Form, sch, "The test run", func(input map[string]any) (string, error) {
		return s.startDraftRun(ctx, g.ID, def, input, graphActor(c))
	})
	if err != nil {
		return err
	}
	if status != 0 {
		return s.renderTestRun(c, status, p)
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, "/runs/"+url.PathEscape(id))
	}
	return RenderFragment(c, http.StatusOK, templates.TestRunStarted(templates.TestRunStartedProps{RunID: id,
		RunURL: "/runs/" + url.PathEscape(id), StateURL: "/api/v1/runs/" + url.PathEscape(id)}))
}

// graphTestRunAPI answers POST /api/v1/graphs/{id}/draft/runs {input, revision?}: 201 {run_id,
// draft: true}; 409 when revision is not the draft's; 413 for an input over 256 KiB; 422 with
// the problems when the draft cannot run, or the paths where the input does not fit.
func (s *Server) graphTestRunAPI(c echo.Context) error {
	ctx := c.Request().Context()
	var req graphTestRunRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Input) > maxGraphRunInput {
		return NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The input is %d bytes; a run input may be at most %d bytes (256 KiB).", len(req.Input), maxGraphRunInput))
	}
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	def, err := s.draftForTestRun(ctx, g, req.Revision)
	if err != nil {
		return err
	}
	sch, err := draftInputSchema(def)
	if err != nil {
		return err
	}
	input, err := decodeRunInput(req.Input)
	if err != nil {
		return err
	}
	if errs := checkRunInput(sch, input); len(errs) > 0 {
		return NewError(http.StatusUnprocessableEntity, "The input does not fit the draft's input schema.").WithProblems(fieldProblems(errs))
	}
	id, err := s.startDraftRun(ctx, g.ID, def, input, graphActor(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/runs/"+url.PathEscape(id))
	return c.JSON(http.StatusCreated, graphTestRunResponse{RunID: id, Draft: true})
}
