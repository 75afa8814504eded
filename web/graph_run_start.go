package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"trellis/actions"
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

// runInputSchema and checkRunInput are the start-run rules the forms check as they read input.
var (
	runInputSchema = actions.InputSchema
	checkRunInput  = actions.CheckInput
)

// graphPickVersion is the version a run starts on: the one asked for (0 for none), which must
// not be retired, or else the latest version that is not retired.
func (s *Server) graphPickVersion(ctx context.Context, graphID string, asked int) (*store.Version, error) {
	return s.actions.PickVersion(ctx, graphID, asked)
}

// graphRunStartAPI answers POST /api/v1/graphs/{id}/runs {version?, input}: 201 {run_id,
// version}; 409 for a retired version, 413 for an input over 256 KiB, 422 with the paths
// where the input does not fit the version's input schema.
func (s *Server) graphRunStartAPI(c echo.Context) error {
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
	input, err := decodeRunInput(req.Input)
	if err != nil {
		return err
	}
	run, err := s.actions.StartRun(c.Request().Context(), actions.StartRequest{GraphID: c.Param("id"), Version: asked, Input: input, By: graphActor(c)})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/runs/"+url.PathEscape(run.RunID))
	return c.JSON(http.StatusCreated, graphRunStartResponse{RunID: run.RunID, Version: run.Version})
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
