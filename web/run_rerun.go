package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// runRerun starts a new run on the same version with the same input, from the definition the
// run was pinned to, and opens it. A retired version cannot start runs (409), as on the
// start-run form; a test run of a draft starts another test run of the same definition.
func (s *Server) runRerun(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	newID, err := s.actions.Rerun(c.Request().Context(), id, graphActor(c))
	if err != nil {
		return runError(id, err)
	}
	q := url.Values{"notice": {"started"}, "from_run": {id}}
	return c.Redirect(http.StatusSeeOther, "/runs/"+url.PathEscape(newID)+"?"+q.Encode())
}
