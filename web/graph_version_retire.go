package web

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

type graphRetireResponse struct {
	Version int  `json:"version"`
	Retired bool `json:"retired"`
}

// graphRetire marks the version of the :id and :v parameters retired: no new runs start on it.
// Retiring twice is fine.
func (s *Server) graphRetire(c echo.Context) (graphID string, version int, err error) {
	v, err := s.graphVersionParam(c)
	if err != nil {
		return "", 0, err
	}
	if err := s.deps.Graphs.RetireVersion(c.Request().Context(), v.GraphID, v.Version); err != nil {
		return "", 0, err
	}
	s.log.Info("version retired", slog.String("graph", v.GraphID), slog.Int("version", v.Version), slog.String("by", graphActor(c)))
	return v.GraphID, v.Version, nil
}

// graphVersionRetireAPI answers POST /api/v1/graphs/{id}/versions/{v}/retire: 200.
func (s *Server) graphVersionRetireAPI(c echo.Context) error {
	_, n, err := s.graphRetire(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, graphRetireResponse{Version: n, Retired: true})
}

// graphVersionRetire is the retire button of the overview and version pages.
func (s *Server) graphVersionRetire(c echo.Context) error {
	id, n, err := s.graphRetire(c)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/graphs/%s?retired=%d", id, n))
}
