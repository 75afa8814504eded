package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"trellis/engine"
	"trellis/store"
)

// runRerun starts a new run on the same version with the same input, from the definition the
// run was pinned to, and opens it. A retired version cannot start runs (409), as on the
// start-run form; a test run of a draft starts another test run of the same definition.
func (s *Server) runRerun(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	tl, err := s.deps.Runs.Timeline(ctx, id)
	if err != nil {
		return runError(id, err)
	}
	if tl.GraphID != "" && tl.Version == engine.DraftVersion {
		// A test run of a draft runs again as one, on the same snapshot of the draft.
		newID, err := s.startDraftRun(ctx, tl.GraphID, &tl.Definition, tl.Input, graphActor(c))
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/runs/"+url.PathEscape(newID)+"?"+url.Values{"notice": {"started"}, "from_run": {id}}.Encode())
	}
	if tl.GraphID == "" || tl.Version < 1 {
		return NewError(http.StatusConflict, fmt.Sprintf("Run %s was not started by Trellis on a graph version, so it cannot run again.", id))
	}
	if s.deps.Graphs != nil {
		v, err := s.deps.Graphs.GetVersion(ctx, tl.GraphID, tl.Version)
		switch {
		case err == nil && v.Retired:
			return NewError(http.StatusConflict, fmt.Sprintf("Version %d of %s is retired: no new runs can start on it.", tl.Version, tl.GraphID))
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	newID, err := s.graphStartRun(ctx, &store.Version{GraphID: tl.GraphID, Version: tl.Version}, &tl.Definition, tl.Input, graphActor(c))
	if err != nil {
		return err
	}
	q := url.Values{"notice": {"started"}, "from_run": {id}}
	return c.Redirect(http.StatusSeeOther, "/runs/"+url.PathEscape(newID)+"?"+q.Encode())
}
