package web

import (
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/designer"
)

type graphValidateResponse struct {
	Problems []designer.Problem `json:"problems"`
}

// graphValidate answers POST /api/v1/graphs/validate with a graph document: {problems}.
// ?graph=ID validates it as that graph's (a subgraph of itself is then a problem).
func (s *Server) graphValidate(c echo.Context) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return NewError(http.StatusUnsupportedMediaType, defaultMessage(http.StatusUnsupportedMediaType))
	}
	doc, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	cd, err := s.checkGraphDoc(c.Request().Context(), doc, c.QueryParam("graph"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, graphValidateResponse{Problems: cd.Problems})
}
