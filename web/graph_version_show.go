package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// graphVersionAPI answers GET /api/v1/graphs/{id}/versions/{v}: the version's graph
// document, exactly as published. Its metadata is in headers.
func (s *Server) graphVersionAPI(c echo.Context) error {
	v, err := s.graphVersionParam(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Trellis-Version-Hash", v.Hash)
	h.Set("Trellis-Version-Retired", fmt.Sprint(v.Retired))
	return c.JSONBlob(http.StatusOK, v.Definition)
}

// graphVersionShow is one version's page: drawn, its JSON, and a form to start a run on it.
func (s *Server) graphVersionShow(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	v, err := s.graphVersionParam(c)
	if err != nil {
		return err
	}
	def, err := parseVersionDefinition(v)
	if err != nil {
		return err
	}
	canEdit := viewer(c).HasRole(store.RoleAnalyst)
	p := templates.GraphVersionProps{
		Header:  templates.GraphHeaderProps{ID: g.ID, Name: g.Name, Current: "version", LatestVersion: g.LatestVersion, CanEdit: canEdit},
		Version: graphVersionRows([]store.Version{*v})[0], Latest: g.LatestVersion,
		Description: def.Description, JSON: graphIndentJSON(v.Definition), CanEdit: canEdit,
		Drawing: templates.GraphSVGProps{Graph: def, ID: "version", Title: fmt.Sprintf("%s, version %d", g.Name, v.Version)},
	}
	if canEdit && !v.Retired {
		form, err := graphRunForm(g.ID, v.Version, def)
		if err != nil {
			return err
		}
		p.Run = &form
	}
	return Render(c, http.StatusOK, templates.Page{Title: fmt.Sprintf("%s v%d", g.Name, v.Version), Section: "/graphs", Body: templates.GraphVersion(p)})
}

// graphIndentJSON indents a JSON document for reading; text that is not JSON stays as it is.
func graphIndentJSON(doc []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, doc, "", "  "); err != nil {
		return string(doc)
	}
	return b.String()
}
