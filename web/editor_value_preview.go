package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// editorPreviewLimit bounds the result the preview shows.
const editorPreviewLimit = 16 << 10

// valuePreviewRequest is a transform's value as the editor's draft has it: a JSON string is
// an expression, anything else a JSON value whose strings are templates.
type valuePreviewRequest struct {
	Value json.RawMessage `json:"value"`
}

// editorValuePreview evaluates a transform's value against the data of the graph's latest run
// (its input and its nodes' outputs), so that the analyst sees what the value gives before
// publishing. Without an engine or a run it says so.
func (s *Server) editorValuePreview(c echo.Context) error {
	id := c.Param("id")
	if !store.ValidGraphID(id) {
		return NewError(http.StatusNotFound, defaultMessage(http.StatusNotFound))
	}
	ctx := c.Request().Context()
	if _, err := s.deps.Graphs.GetGraph(ctx, id); err != nil {
		return fmt.Errorf("preview in graph %s: %w", id, err)
	}
	var req valuePreviewRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	p := templates.ValuePreviewProps{}
	switch {
	case len(bytes.TrimSpace(req.Value)) == 0 || bytes.Equal(bytes.TrimSpace(req.Value), []byte("null")):
		p.Message = "Write a value first."
	case s.deps.Runs == nil:
		p.Message = "Previews need the workflow engine, which this server is not connected to."
	default:
		run, err := s.latestRun(c, id)
		if err != nil {
			return err
		}
		if run == nil {
			p.Message = "This graph has no run yet: start one, then preview the value with its data."
			break
		}
		p.RunID, p.RunURL, p.Version, p.StartedAt = run.RunID, runShowURL(run.RunID, ganttView{}), run.Version, run.StartedAt
		v, err := engine.PreviewValue(req.Value, run)
		if err != nil {
			p.Error = sentence(err.Error())
			break
		}
		p.Result, p.Truncated = previewJSON(v)
	}
	return RenderFragment(c, http.StatusOK, templates.ValuePreview(p))
}

// latestRun is the most recently started run of the graph (from the first page of its runs,
// which lists those still going first), or nil when it has none.
func (s *Server) latestRun(c echo.Context, graphID string) (*engine.Run, error) {
	ctx := c.Request().Context()
	rows, _, err := s.deps.Runs.ListRunRows(ctx, engine.RunFilter{GraphID: graphID, PageSize: 50})
	if err != nil {
		return nil, fmt.Errorf("runs of graph %s: %w", graphID, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	latest := rows[0]
	for _, r := range rows[1:] {
		if r.StartedAt.After(latest.StartedAt) {
			latest = r
		}
	}
	run, err := s.deps.Runs.GetRun(ctx, latest.RunID)
	if err != nil {
		return nil, runError(latest.RunID, err)
	}
	return run, nil
}

// previewJSON is the result as indented JSON, cut at editorPreviewLimit.
func previewJSON(v any) (string, bool) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v), false
	}
	if len(b) > editorPreviewLimit {
		return string(bytes.ToValidUTF8(b[:editorPreviewLimit], nil)), true
	}
	return string(b), false
}
