package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
)

type graphCreateRequest struct {
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
}

type graphCreateResponse struct {
	ID       string             `json:"id"`
	Name     string             `json:"name"`
	Revision int64              `json:"revision"`
	Problems []designer.Problem `json:"problems"`
}

// graphCreateAPI answers POST /api/v1/graphs {name, definition?}: 201 {id, name}. The
// definition becomes the draft, problems and all; without a name, the document's is used.
func (s *Server) graphCreateAPI(c echo.Context) error {
	ctx := c.Request().Context()
	var req graphCreateRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	def := bytes.TrimSpace(req.Definition)
	if string(def) == "null" {
		def = nil
	}
	problems := []designer.Problem{}
	if len(def) > 0 {
		cd, err := s.checkGraphDoc(ctx, def, "")
		if err != nil {
			return err
		}
		problems = cd.Problems
		if name == "" {
			name = strings.TrimSpace(cd.Graph.Name)
		}
	}
	g, err := s.deps.Graphs.CreateGraph(ctx, name, def, graphActor(c))
	if err != nil {
		return err
	}
	s.log.Info("graph created", slog.String("graph", g.ID), slog.String("by", graphActor(c)))
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/graphs/"+g.ID)
	return c.JSON(http.StatusCreated, graphCreateResponse{ID: g.ID, Name: g.Name, Revision: g.DraftRevision, Problems: problems})
}

// graphCreate makes a graph with an empty draft from the list's form and opens the editor.
func (s *Server) graphCreate(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	g, err := s.deps.Graphs.CreateGraph(c.Request().Context(), name, nil, graphActor(c))
	if errors.Is(err, store.ErrInvalid) {
		p, lerr := s.graphListProps(c)
		if lerr != nil {
			return lerr
		}
		p.CreateName = name
		p.CreateError = sentence(err.Error()) + "."
		return s.renderGraphList(c, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	s.log.Info("graph created", slog.String("graph", g.ID), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, "/graphs/"+g.ID+"/edit")
}
