package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/templates"
)

// scheduleFormLimit bounds a schedule's body or form: the fixed input plus the rest
// (percent-encoding may triple the input).
const scheduleFormLimit = 3*actions.MaxRunInputBytes + 16<<10

type scheduleCreateResponse struct {
	actions.ScheduleView
	Next []string `json:"next"`
}

func scheduleResponse(v *actions.ScheduleView) scheduleCreateResponse {
	r := scheduleCreateResponse{ScheduleView: *v, Next: []string{}}
	if v.State != nil {
		for _, t := range v.State.Next {
			r.Next = append(r.Next, t.Format("2006-01-02T15:04:05Z07:00"))
		}
	}
	return r
}

// scheduleCreateAPI answers POST /api/v1/graphs/{id}/schedules {cron? | every?, timezone?,
// version?, input, overlap, paused?}: 201 {id, next: [5 times], …}; 422 with the field (and
// the cron column) that is wrong or the input's problems; 409 for a retired version.
func (s *Server) scheduleCreateAPI(c echo.Context) error {
	var spec actions.ScheduleSpec
	if err := DecodeJSON(c, &spec); err != nil {
		return err
	}
	v, err := s.triggers().CreateSchedule(c.Request().Context(), c.Param("id"), spec, graphActor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, scheduleResponse(v))
}

// scheduleListAPI answers GET /api/v1/graphs/{id}/schedules.
func (s *Server) scheduleListAPI(c echo.Context) error {
	g, err := s.graphParam(c)
	if err != nil {
		return err
	}
	views, err := s.triggers().Schedules(c.Request().Context(), g.ID)
	if err != nil {
		return err
	}
	out := make([]scheduleCreateResponse, 0, len(views))
	for i := range views {
		out = append(out, scheduleResponse(&views[i]))
	}
	return c.JSON(http.StatusOK, out)
}

// scheduleShowAPI answers GET /api/v1/schedules/{id}.
func (s *Server) scheduleShowAPI(c echo.Context) error {
	v, err := s.triggers().GetSchedule(c.Request().Context(), "", c.Param("sid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, scheduleResponse(v))
}

// schedulePatchAPI answers PATCH /api/v1/schedules/{id} with the fields to change (paused
// pauses or resumes): 200 with the schedule.
func (s *Server) schedulePatchAPI(c echo.Context) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return NewError(http.StatusUnsupportedMediaType, "Send the fields to change as JSON.")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return formError(err)
	}
	if !json.Valid(body) {
		return NewError(http.StatusBadRequest, "The request body is not valid JSON.")
	}
	v, err := s.triggers().UpdateSchedule(c.Request().Context(), c.Param("sid"), body, graphActor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, scheduleResponse(v))
}

// scheduleDeleteAPI answers DELETE /api/v1/schedules/{id}: 204.
func (s *Server) scheduleDeleteAPI(c echo.Context) error {
	if err := s.triggers().DeleteSchedule(c.Request().Context(), "", c.Param("sid"), graphActor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// scheduleTriggerAPI answers POST /api/v1/schedules/{id}/trigger: 202; the firing follows the
// schedule's overlap policy.
func (s *Server) scheduleTriggerAPI(c echo.Context) error {
	if err := s.triggers().TriggerSchedule(c.Request().Context(), "", c.Param("sid"), graphActor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusAccepted)
}

// scheduleCreate is the Triggers tab's new-schedule form.
func (s *Server) scheduleCreate(c echo.Context) error {
	req := c.Request()
	if err := req.ParseForm(); err != nil {
		return formError(err)
	}
	form := templates.ScheduleForm{Cron: strings.TrimSpace(req.PostFormValue("cron")), Every: strings.TrimSpace(req.PostFormValue("every")),
		TimeZone: strings.TrimSpace(req.PostFormValue("timezone")), Version: req.PostFormValue("version"),
		Input: req.PostFormValue("input"), Overlap: req.PostFormValue("overlap"), Paused: req.PostFormValue("paused") != "", Errors: map[string]string{}}
	spec := actions.ScheduleSpec{Cron: form.Cron, Every: form.Every, TimeZone: form.TimeZone, Overlap: form.Overlap, Paused: form.Paused}
	if v := strings.TrimSpace(form.Version); v != "" && v != "latest" {
		spec.Version = json.RawMessage(v)
	}
	if in := strings.TrimSpace(form.Input); in != "" {
		spec.Input = json.RawMessage(in)
	}
	_, err := s.triggers().CreateSchedule(req.Context(), c.Param("id"), spec, graphActor(c))
	if err == nil {
		return triggersDone(c, c.Param("id"), "Schedule added.")
	}
	e := AsError(err)
	if e.Status >= 500 || e.Status == http.StatusNotFound {
		return err
	}
	p, perr := s.triggersProps(c)
	if perr != nil {
		return perr
	}
	form.Error = e.Message
	for _, pr := range e.Problems {
		field := pr.Field
		if pr.Path != "" || field == "" {
			field = "input"
		}
		if form.Errors[field] == "" {
			form.Errors[field] = pr.Message
			if pr.Path != "" {
				form.Errors[field] = pr.Path + ": " + pr.Message
			}
		}
	}
	p.SchedForm = form
	return s.renderTriggers(c, e.Status, p)
}

// schedulePause, scheduleResume, scheduleTrigger and scheduleDelete are the buttons of a
// schedule's row.
func (s *Server) schedulePause(c echo.Context) error  { return s.scheduleSetPaused(c, true) }
func (s *Server) scheduleResume(c echo.Context) error { return s.scheduleSetPaused(c, false) }

func (s *Server) scheduleSetPaused(c echo.Context, paused bool) error {
	if err := s.triggers().PauseSchedule(c.Request().Context(), c.Param("id"), c.Param("sid"), paused, graphActor(c)); err != nil {
		return err
	}
	if paused {
		return triggersDone(c, c.Param("id"), "Schedule paused.")
	}
	return triggersDone(c, c.Param("id"), "Schedule resumed.")
}

func (s *Server) scheduleTrigger(c echo.Context) error {
	if err := s.triggers().TriggerSchedule(c.Request().Context(), c.Param("id"), c.Param("sid"), graphActor(c)); err != nil {
		return err
	}
	return triggersDone(c, c.Param("id"), "The schedule fires now.")
}

func (s *Server) scheduleDelete(c echo.Context) error {
	if err := s.triggers().DeleteSchedule(c.Request().Context(), c.Param("id"), c.Param("sid"), graphActor(c)); err != nil {
		return err
	}
	return triggersDone(c, c.Param("id"), "Schedule deleted.")
}
