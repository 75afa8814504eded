package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// graphExport downloads the draft (?version=draft, the default) or a version as a JSON file.
func (s *Server) graphExport(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	which := strings.TrimSpace(c.QueryParam("version"))
	doc, file := []byte(g.Draft), g.ID+"-draft.json"
	if which != "" && which != diffDraft {
		n, err := parseGraphVersion(which)
		if err != nil {
			return err
		}
		v, err := s.deps.Graphs.GetVersion(c.Request().Context(), g.ID, n)
		if err != nil {
			return err
		}
		doc, file = v.Definition, fmt.Sprintf("%s-v%d.json", g.ID, n)
	}
	h := c.Response().Header()
	// Graph ids are [a-z0-9-], so the file name needs no escaping.
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, file))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(graphIndentJSON(doc)+"\n"))
}
