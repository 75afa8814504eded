package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/templates"
)

// homeShow is the start page: a card for each section the user's roles open.
func (s *Server) homeShow(c echo.Context) error {
	var links []templates.NavLink
	if v := viewer(c); v != nil {
		links = v.Nav
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Home", Body: templates.Home(templates.HomeProps{Links: links})})
}
