package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// runMaxReason bounds a cancellation reason (it is kept in the run's history).
const runMaxReason = 500

type runCancelRequest struct {
	Reason string `json:"reason"`
}

type runCancelResponse struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
}

// runCancelAPI answers POST /api/v1/runs/{run_id}/cancel {reason?}: 202 once the run has been
// asked to stop (it ends cancelled when its nodes in flight have stopped); 404 for an
// unknown run, 409 for one that has ended.
func (s *Server) runCancelAPI(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	var req runCancelRequest
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		if err := DecodeJSON(c, &req); err != nil {
			return err
		}
	}
	reason, err := runCancelReason(req.Reason)
	if err != nil {
		return err
	}
	if err := s.cancelRun(c, id, reason); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, runCancelResponse{RunID: id, Status: "cancelling"})
}

// runCancel is the run page's cancel button: back to the run's page, which says so.
func (s *Server) runCancel(c echo.Context) error {
	id, err := runIDParam(c)
	if err != nil {
		return err
	}
	reason, err := runCancelReason(c.FormValue("reason"))
	if err != nil {
		return err
	}
	if err := s.cancelRun(c, id, reason); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, runShowURL(id, ganttView{})+"?notice=cancel")
}

func (s *Server) cancelRun(c echo.Context, id, reason string) error {
	by := graphActor(c)
	full := "cancelled by " + by
	if reason != "" {
		full += ": " + reason
	}
	if err := s.deps.Runs.CancelRun(c.Request().Context(), id, full); err != nil {
		return runError(id, err)
	}
	s.log.Info("run cancel requested", slog.String("run_id", id), slog.String("by", by))
	return nil
}

func runCancelReason(r string) (string, error) {
	r = strings.TrimSpace(r)
	if utf8.RuneCountInString(r) > runMaxReason || !utf8.ValidString(r) {
		return "", NewError(http.StatusBadRequest, "The reason must be valid text of at most 500 characters.")
	}
	return r, nil
}
