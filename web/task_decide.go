package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
	"trellis/store"
	"trellis/templates"
	"trellis/web/schemaform"
)

// taskDecisionRequest is the body of POST /api/v1/tasks/{id}/decision.
type taskDecisionRequest struct {
	Outcome string         `json:"outcome"`
	Data    map[string]any `json:"data"`
	Comment string         `json:"comment"`
}

// taskDecideAPI answers POST /api/v1/tasks/{id}/decision {outcome, data?, comment?}: 200 with
// the decided task; 403 when it is not yours; 409 when it was decided already (saying by
// whom); 422 with problems naming the field when the outcome or data does not fit.
func (s *Server) taskDecideAPI(c echo.Context) error {
	var req taskDecisionRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	done, err := s.actions.Decide(c.Request().Context(), actions.DecideRequest{TaskID: t.ID, User: CurrentUser(c),
		Outcome: req.Outcome, Comment: req.Comment, Data: req.Data})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.taskJSON(done))
}

// taskDecideManyRequest is the body of POST /api/v1/tasks/decisions.
type taskDecideManyRequest struct {
	TaskIDs []string `json:"task_ids"`
	taskDecisionRequest
}

// taskDecideManyAPI decides several tasks with one decision (the tasks of a map's items,
// say): 200 with {decided, refused: [{task_id, code, message}]}; each task is decided as
// POST …/decision would, and one refused does not stop the others.
func (s *Server) taskDecideManyAPI(c echo.Context) error {
	var req taskDecideManyRequest
	if err := DecodeJSON(c, &req); err != nil {
		return err
	}
	res, err := s.actions.DecideMany(c.Request().Context(), actions.DecideManyRequest{TaskIDs: req.TaskIDs,
		DecideRequest: actions.DecideRequest{User: CurrentUser(c), Outcome: req.Outcome, Comment: req.Comment, Data: req.Data}})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// taskDecide takes the decision form: inline errors when it does not fit, else back to the
// task page, which shows the decision.
func (s *Server) taskDecide(c echo.Context) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	u := CurrentUser(c)
	sch, err := taskSchema(t)
	if err != nil {
		return err
	}
	p := s.taskPageProps(c, t, sch)
	outcome, comment := c.FormValue("outcome"), c.FormValue("comment")
	data, fields, ok := readSchemaForm(c, templates.TaskFormNames, schemaform.Fields(sch))
	p.Form.Fields, p.Form.Comment = fields, comment
	if !ok {
		// The fields that could not be read are marked; mark what else does not fit too.
		if err := actions.CheckDecider(t, u); err != nil {
			return s.refuseTaskForm(c, p, err)
		}
		placeTaskProblems(&p.Form, designer.CheckDecision(t.Outcomes, sch, outcome, comment, data))
		p.Form.Error = taskFormUndecided
		return s.renderTaskPage(c, http.StatusUnprocessableEntity, p)
	}
	_, err = s.actions.Decide(c.Request().Context(), actions.DecideRequest{TaskID: t.ID, User: u, Outcome: outcome, Comment: comment, Data: data})
	if err != nil {
		return s.refuseTaskForm(c, p, err)
	}
	return c.Redirect(http.StatusSeeOther, "/tasks/"+url.PathEscape(t.ID)+"?m=decided")
}

// taskFormUndecided heads a decision form sent back with problems.
const taskFormUndecided = "Nothing was decided yet. Correct the fields marked below."

// refuseTaskForm shows the task page again with the refusal above the form; a 409 reloads
// the task so that the page shows who decided.
func (s *Server) refuseTaskForm(c echo.Context, p templates.TaskPageProps, err error) error {
	ae := AsError(err)
	if ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable {
		return err
	}
	if ae.Status == http.StatusConflict {
		if t, gerr := s.deps.Tasks.GetTask(c.Request().Context(), p.ID); gerr == nil {
			if sch, serr := designer.CompileSchema(t.Form); serr == nil {
				p = s.taskPageProps(c, t, sch)
			}
		}
	}
	var refused *actions.Error
	switch {
	case ae.Status == http.StatusForbidden || ae.Status == http.StatusConflict || ae.Status == http.StatusNotFound:
		p.CanDecide = false
		if p.State == store.TaskOpen {
			p.Notice = ae.Message
		} else {
			p.Error = ae.Message
		}
	case errors.As(err, &refused) && len(refused.Decision) > 0:
		placeTaskProblems(&p.Form, refused.Decision)
		p.Form.Error = taskFormUndecided
	default:
		p.Form.Error = ae.Message
	}
	return s.renderTaskPage(c, ae.Status, p)
}
