package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/actions"
)

type graphPublishRequest struct {
	Note string `json:"note"`
	// Revision, when given, must be the current draft revision: publish what you saw.
	Revision int64 `json:"revision"`
}

type graphPublishResponse struct {
	Version   int       `json:"version"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
}

// noChangesSince is what the overview and a refused publish say of a draft that equals the
// latest version.
var noChangesSince = actions.NoChangesSince

// graphPublishAPI answers POST /api/v1/graphs/{id}/versions {note}: 201 {version}, or 422
// with the draft's problems.
func (s *Server) graphPublishAPI(c echo.Context) error {
	var req graphPublishRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	id := c.Param("id")
	v, err := s.actions.Publish(c.Request().Context(), actions.PublishRequest{GraphID: id, Note: req.Note,
		Revision: req.Revision, Author: graphActor(c)})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/graphs/%s/versions/%d", id, v.Version))
	return c.JSON(http.StatusCreated, graphPublishResponse{Version: v.Version, Hash: v.Hash, CreatedAt: v.CreatedAt})
}

// graphPublish is the overview's publish form: it goes back to the overview, with the
// refusal and its problems shown when the draft cannot be published.
func (s *Server) graphPublish(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	note := c.FormValue("note")
	var rev int64
	if r := c.FormValue("revision"); r != "" {
		if rev, err = strconv.ParseInt(r, 10, 64); err != nil {
			return NewError(http.StatusBadRequest, "The form's draft revision is not a number.")
		}
	}
	v, err := s.actions.Publish(c.Request().Context(), actions.PublishRequest{GraphID: g.ID, Note: note, Revision: rev, Author: graphActor(c)})
	if err == nil {
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/graphs/%s?published=%d", g.ID, v.Version))
	}
	ae := AsError(err)
	if ae.Status >= 500 {
		return err
	}
	p, perr := s.graphOverviewProps(c, g, true)
	if perr != nil {
		return perr
	}
	p.Publish.Note = note
	p.Publish.Error = ae.Message
	var refused *actions.Error
	if errors.As(err, &refused) {
		p.Publish.Problems = graphProblemRows(nil, refused.Graph)
	}
	return s.renderGraphOverview(c, ae.Status, p)
}
