package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// bulkLimit bounds POST /runs/bulk: 10,000 run ids and the JSON around them.
const bulkLimit = 1 << 20

// bulkAPI answers POST /api/v1/runs/bulk {action, run_ids? | filter?, params?}: 202
// {batch_id, total}. The whole request is refused before any run is touched: 422 for an
// unknown or unavailable action or too many runs, 403 for a role that may not do it.
func (s *Server) bulkAPI(c echo.Context) error {
	var req actions.BulkRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	req.Limit = s.cfg.MaxBulkRuns
	started, err := s.actions.Bulk(c.Request().Context(), req, CurrentUser(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/batches/"+url.PathEscape(started.BatchID))
	return c.JSON(http.StatusAccepted, started)
}

// batchAPI answers GET /api/v1/batches/{id}: {action, total, done, failed, state, results}.
func (s *Server) batchAPI(c echo.Context) error {
	b, err := s.actions.Batch(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

// batchCancelAPI answers POST /api/v1/batches/{id}/cancel: 202; runs already acted on stay so.
func (s *Server) batchCancelAPI(c echo.Context) error {
	if err := s.actions.CancelBatch(c.Request().Context(), c.Param("id"), graphActor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusAccepted)
}

// bulkSubmit is the bulk form of the runs list: the runs ticked, or every run the list's
// filter matches (scope=filter); on to the batch's progress page.
func (s *Server) bulkSubmit(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return NewError(http.StatusBadRequest, "The form could not be read.")
	}
	req := actions.BulkRequest{Action: form.Get("action"), Limit: s.cfg.MaxBulkRuns, Params: actions.BulkParams{Comment: strings.TrimSpace(form.Get("comment")),
		From: strings.TrimSpace(form.Get("from")), Graph: form.Get("graph")}}
	if to := strings.TrimSpace(form.Get("to")); to != "" && req.Action == engine.BatchMigrate {
		if req.Params.To, err = parseGraphVersion(to); err != nil {
			return err
		}
	}
	if req.Action != engine.BatchRewind {
		req.Params.From = ""
	}
	if form.Get("scope") == "filter" {
		f := &actions.BulkFilter{Graph: form.Get("graph"), Status: form.Get("status")}
		if v := strings.TrimSpace(form.Get("version")); v != "" {
			if f.Version, err = parseGraphVersion(v); err != nil {
				return err
			}
		}
		req.Filter = f
	} else {
		req.RunIDs = form["run_id"]
		if len(req.RunIDs) == 0 {
			return NewError(http.StatusUnprocessableEntity, "Tick the runs to act on, or choose every run the filter matches.")
		}
	}
	started, err := s.actions.Bulk(c.Request().Context(), req, CurrentUser(c))
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/batches/"+url.PathEscape(started.BatchID))
}

// batchShow is a batch's progress page; while the batch runs it reloads itself.
func (s *Server) batchShow(c echo.Context) error {
	b, err := s.actions.Batch(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	p := templates.BatchProps{BatchID: b.BatchID, Action: b.Action, By: b.By, Total: b.Total, Done: b.Done, Failed: b.Failed,
		State: b.State, ResultsPartial: b.ResultsPartial, Live: b.State == engine.BatchRunning,
		CanCancel: b.State == engine.BatchRunning && viewer(c).HasRole(store.RoleDeveloper)}
	if !b.CreatedAt.IsZero() {
		p.Created = b.CreatedAt.UTC().Format(time.RFC3339)
	}
	for _, r := range b.Results {
		if !r.OK {
			p.Failures = append(p.Failures, templates.BatchFailure{RunID: r.RunID, Error: r.Error})
		}
	}
	if b.Total > 0 {
		p.Percent = strconv.Itoa(100 * (b.Done + b.Failed) / b.Total)
	}
	return Render(c, http.StatusOK, templates.Page{Title: "Batch " + b.BatchID, Section: "/runs", Body: templates.BatchPage(p)})
}

// batchCancel is the Cancel button of the progress page.
func (s *Server) batchCancel(c echo.Context) error {
	if err := s.actions.CancelBatch(c.Request().Context(), c.Param("id"), graphActor(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/batches/"+url.PathEscape(c.Param("id")))
}
