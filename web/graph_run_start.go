package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// graphRunStartLimit bounds POST …/runs: the input plus the JSON around it.
const graphRunStartLimit = maxGraphRunInput + 16<<10

type graphRunStartRequest struct {
	Version *int            `json:"version"`
	Input   json.RawMessage `json:"input"`
}

type graphRunStartResponse struct {
	RunID   string `json:"run_id"`
	Version int    `json:"version"`
}

// graphPickVersion is the version a run starts on: the one asked for (0 for none), which must
// not be retired, or else the latest version that is not retired.
func (s *Server) graphPickVersion(ctx context.Context, graphID string, asked int) (*store.Version, error) {
	if asked > 0 {
		v, err := s.deps.Graphs.GetVersion(ctx, graphID, asked)
		if err != nil {
			return nil, err
		}
		if v.Retired {
			return nil, NewError(http.StatusConflict, fmt.Sprintf("Version %d is retired: no new runs can start on it. Choose another version.", asked))
		}
		return v, nil
	}
	versions, err := s.deps.Graphs.ListVersions(ctx, graphID)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if !v.Retired {
			return s.deps.Graphs.GetVersion(ctx, graphID, v.Version)
		}
	}
	if len(versions) == 0 {
		return nil, NewError(http.StatusConflict, fmt.Sprintf("Graph %s has no published version yet; publish the draft first.", graphID))
	}
	return nil, NewError(http.StatusConflict, fmt.Sprintf("Every version of %s is retired; publish a new one to start runs.", graphID))
}

// runInputSchema compiles a version's input schema. Versions were checked when published, so a
// failure means the rules changed since; say so rather than start a run unchecked.
func runInputSchema(v *store.Version, def *designer.Graph) (*designer.Schema, error) {
	sch, err := designer.CompileSchema(def.Input)
	if err != nil {
		e := NewError(http.StatusUnprocessableEntity, fmt.Sprintf("The input schema of version %d cannot be used: %v.", v.Version, err))
		e.Err = err
		return nil, e
	}
	return sch, nil
}

// checkRunInput fills in schema defaults and returns where input does not fit.
func checkRunInput(sch *designer.Schema, input any) []designer.FieldError {
	if m, ok := input.(map[string]any); ok {
		sch.ApplyDefaults(m)
	}
	return sch.Validate(input)
}

// graphStartRun hands a checked input to the engine.
func (s *Server) graphStartRun(ctx context.Context, v *store.Version, def *designer.Graph, input any, by string) (string, error) {
	if s.deps.Starter == nil {
		return "", NewError(http.StatusServiceUnavailable, "Runs cannot start: this server is not connected to the workflow engine.")
	}
	id, err := s.deps.Starter.StartRun(ctx, engine.StartRunRequest{GraphID: v.GraphID, Version: v.Version, Definition: *def, Input: input, StartedBy: by})
	var de *engine.DefinitionError
	if errors.As(err, &de) {
		e := NewError(http.StatusUnprocessableEntity, fmt.Sprintf("Version %d cannot run: %s.", v.Version, de.Error())).WithProblems(de.Problems)
		e.Err = err
		return "", e
	}
	if err != nil {
		return "", fmt.Errorf("start run of %s v%d: %w", v.GraphID, v.Version, err)
	}
	s.log.Info("run started", slog.String("graph", v.GraphID), slog.Int("version", v.Version), slog.String("run", id), slog.String("by", by))
	return id, nil
}

// graphRunStartAPI answers POST /api/v1/graphs/{id}/runs {version?, input}: 201 {run_id,
// version}; 409 for a retired version, 413 for an input over 256 KiB, 422 with the paths
// where the input does not fit the version's input schema.
func (s *Server) graphRunStartAPI(c echo.Context) error {
	ctx := c.Request().Context()
	var req graphRunStartRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Input) > maxGraphRunInput {
		return NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("The input is %d bytes; a run input may be at most %d bytes (256 KiB).", len(req.Input), maxGraphRunInput))
	}
	asked := 0
	if req.Version != nil {
		if *req.Version < 1 {
			return NewError(http.StatusBadRequest, "version must be a version number (1, 2, 3, …); leave it out for the latest.")
		}
		asked = *req.Version
	}
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	v, err := s.graphPickVersion(ctx, g.ID, asked)
	if err != nil {
		return err
	}
	def, err := parseVersionDefinition(v)
	if err != nil {
		return err
	}
	sch, err := runInputSchema(v, def)
	if err != nil {
		return err
	}
	input, err := decodeRunInput(req.Input)
	if err != nil {
		return err
	}
	if errs := checkRunInput(sch, input); len(errs) > 0 {
		return NewError(http.StatusUnprocessableEntity, fmt.Sprintf("The input does not fit the input schema of version %d.", v.Version)).WithProblems(errs)
	}
	id, err := s.graphStartRun(ctx, v, def, input, graphActor(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/runs/"+url.PathEscape(id))
	return c.JSON(http.StatusCreated, graphRunStartResponse{RunID: id, Version: v.Version})
}

// decodeRunInput reads a run input sent to the API; an absent or null input is an empty object.
func decodeRunInput(raw json.RawMessage) (any, error) {
	input := any(map[string]any{})
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &input); err != nil {
			return nil, NewError(http.StatusBadRequest, "input is not valid JSON.")
		}
	}
	return input, nil
}
