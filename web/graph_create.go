package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
)

type graphCreateRequest struct {
	Name string `json:"name"`
	// ID is optional: without it the id is derived from the name.
	ID         string          `json:"id"`
	Definition json.RawMessage `json:"definition"`
}

type graphCreateResponse struct {
	ID       string             `json:"id"`
	Name     string             `json:"name"`
	Revision int64              `json:"revision"`
	Problems []designer.Problem `json:"problems"`
}

// graphCreateAPI answers POST /api/v1/graphs {name, id?, definition?}: 201 {id, name}. The
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
	g, err := s.deps.Graphs.CreateGraphWithID(ctx, req.ID, name, def, graphActor(c))
	if err != nil {
		return err
	}
	s.log.Info("graph created", slog.String("graph", g.ID), slog.String("by", graphActor(c)))
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/graphs/"+g.ID)
	return c.JSON(http.StatusCreated, graphCreateResponse{ID: g.ID, Name: g.Name, Revision: g.DraftRevision, Problems: problems})
}

// graphCreate makes a graph with an empty draft from the list's form and opens the editor.
// A name another graph already has is asked about once (same_name=1 confirms it); a name with
// nothing to make an id from asks for an id.
func (s *Server) graphCreate(c echo.Context) error {
	ctx := c.Request().Context()
	name := strings.TrimSpace(c.FormValue("name"))
	id := strings.TrimSpace(c.FormValue("id"))
	refuse := func(status int, err error, warning string) error {
		p, lerr := s.graphListProps(c)
		if lerr != nil {
			return lerr
		}
		p.CreateName, p.CreateID, p.CreateWarning = name, id, warning
		p.CreateConfirmed = c.FormValue("same_name") == "1"
		p.CreateAskID = id != "" || (name != "" && store.Slug(name) == "")
		if err != nil {
			if graphIDAtFault(err, name, id) {
				p.CreateIDError = sentence(err.Error()) + "."
			} else {
				p.CreateError = sentence(err.Error()) + "."
			}
		}
		return s.renderGraphList(c, status, p)
	}
	if c.FormValue("same_name") != "1" {
		if others := s.graphsNamed(ctx, name, ""); len(others) > 0 {
			return refuse(http.StatusConflict, nil, sameNameWarning(name, others)+" Create another graph with this name anyway, or choose another name.")
		}
	}
	g, err := s.deps.Graphs.CreateGraphWithID(ctx, id, name, nil, graphActor(c))
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) {
		return refuse(http.StatusUnprocessableEntity, err, "")
	}
	if err != nil {
		return err
	}
	s.log.Info("graph created", slog.String("graph", g.ID), slog.String("by", graphActor(c)))
	return c.Redirect(http.StatusSeeOther, "/graphs/"+g.ID+"/edit")
}

// graphIDAtFault tells whether a refused create is about the id (given, or missing for a
// name that cannot make one) rather than the name.
func graphIDAtFault(err error, name, id string) bool {
	if id == "" {
		return strings.TrimSpace(name) != "" && store.Slug(name) == ""
	}
	return errors.Is(err, store.ErrConflict) || !store.ValidGraphID(id)
}

// graphsNamed lists the ids of the graphs, other than except, whose name is name (ignoring
// case and surrounding space). Names need not be unique, but two alike are hard to tell apart.
func (s *Server) graphsNamed(ctx context.Context, name, except string) []string {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	list, err := s.deps.Graphs.ListGraphs(ctx)
	if err != nil {
		s.log.Warn("list graphs to compare names", slog.Any("error", err))
		return nil
	}
	var ids []string
	for _, g := range list {
		if g.ID != except && strings.EqualFold(strings.TrimSpace(g.Name), name) {
			ids = append(ids, g.ID)
		}
	}
	return ids
}

// sameNameWarning says which graphs already have a name.
func sameNameWarning(name string, ids []string) string {
	if len(ids) == 1 {
		return fmt.Sprintf("Another graph is already named %q (id %s).", name, ids[0])
	}
	return fmt.Sprintf("%d other graphs are already named %q (ids %s).", len(ids), name, strings.Join(ids, ", "))
}
