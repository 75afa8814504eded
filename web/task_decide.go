package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
	"trellis/templates"
)

// taskDecisionRequest is the body of POST /api/v1/tasks/{id}/decision.
type taskDecisionRequest struct {
	Outcome string         `json:"outcome"`
	Data    map[string]any `json:"data"`
	Comment string         `json:"comment"`
}

// taskDecideTimeout bounds the wait for the run to take a decision: a worker that is down
// would otherwise hold the request until the reviewer gives up.
const taskDecideTimeout = 30 * time.Second

// checkDecider refuses a decision the store already tells is wrong, before the run is asked:
// 409 for a closed task (naming who decided), 403 for a task that is not the user's or that
// someone else holds. The run checks again when it takes the decision.
func checkDecider(t *store.Task, u *store.User) error {
	switch {
	case t.State == store.TaskCancelled:
		return NewError(http.StatusConflict, fmt.Sprintf("Task %s was closed without a decision: its run ended.", t.ID))
	case t.State != store.TaskOpen && t.Decision != nil:
		return NewError(http.StatusConflict, fmt.Sprintf("Task %s was already decided by %s (%s) at %s.", t.ID,
			t.Decision.DecidedBy, t.Decision.Outcome, t.Decision.DecidedAt.UTC().Format("2 Jan 2006 15:04 UTC")))
	case !t.AssignedTo(u):
		return errForbidden(fmt.Sprintf("Task %s is assigned to %s, not to you.", t.ID, assigneeWords(t.Assignee)))
	case t.ClaimedBy != "" && t.ClaimedBy != u.Name:
		return errForbidden(fmt.Sprintf("Task %s is claimed by %s; only they can decide it.", t.ID, t.ClaimedBy))
	}
	return nil
}

// decideTask sends a checked decision to the run. The run records it and closes the task
// before it answers, so the task read afterwards shows the decision.
func (s *Server) decideTask(c echo.Context, t *store.Task, d engine.Decision) (*store.Task, error) {
	decider := s.taskDecider()
	if decider == nil {
		return nil, NewError(http.StatusServiceUnavailable, "Decisions cannot be sent: this server is not connected to the workflow engine.")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), taskDecideTimeout)
	defer cancel()
	err := decider.Decide(ctx, t.RunID, t.NodeID, d)
	if errors.Is(err, context.DeadlineExceeded) {
		e := NewError(http.StatusServiceUnavailable, "The run did not confirm the decision in time. It may still take it: reload the task in a moment before deciding again.")
		e.Err = err
		return nil, e
	}
	if err != nil {
		return nil, refusalError(t, err)
	}
	s.log.Info("task decided", slog.String("task", t.ID), slog.String("run", t.RunID), slog.String("node", t.NodeID),
		slog.String("outcome", d.Outcome), slog.String("by", d.By))
	return s.deps.Tasks.GetTask(c.Request().Context(), t.ID)
}

// refusalError maps the run's refusal to the status api.md gives it.
func refusalError(t *store.Task, err error) error {
	var de *engine.DecisionError
	if !errors.As(err, &de) {
		return fmt.Errorf("decide task %s: %w", t.ID, err)
	}
	msg := strings.TrimSuffix(de.Message, ".") + "."
	var e *Error
	switch de.Reason {
	case engine.DecisionForbidden:
		e = errForbidden(msg)
	case engine.DecisionDecided, engine.DecisionNotWaiting:
		e = NewError(http.StatusConflict, msg)
	case engine.DecisionInvalid:
		e = NewError(http.StatusUnprocessableEntity, msg).WithProblems(de.Problems)
	case engine.DecisionNoRun:
		e = NewError(http.StatusNotFound, msg)
	default:
		return fmt.Errorf("decide task %s: %w", t.ID, err)
	}
	e.Err = err
	return e
}

func decisionFor(u *store.User, t *store.Task, outcome, comment string, data map[string]any) engine.Decision {
	return engine.Decision{Outcome: outcome, Data: data, Comment: comment, By: u.Name, Groups: u.Groups, Claimer: t.ClaimedBy}
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
	u := CurrentUser(c)
	if err := checkDecider(t, u); err != nil {
		return err
	}
	sch, err := taskSchema(t)
	if err != nil {
		return err
	}
	if req.Data == nil {
		req.Data = map[string]any{}
	}
	if probs := checkDecision(t, sch, req.Outcome, req.Comment, req.Data); len(probs) > 0 {
		return NewError(http.StatusUnprocessableEntity, "The decision does not fit the task.").WithProblems(probs)
	}
	done, err := s.decideTask(c, t, decisionFor(u, t, req.Outcome, req.Comment, req.Data))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.taskJSON(done))
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
	data, fields, ok := readSchemaForm(c, templates.TaskFormNames, schemaFormFields(sch))
	p.Form.Fields, p.Form.Comment = fields, comment
	if err := checkDecider(t, u); err != nil {
		return s.refuseTaskForm(c, p, err)
	}
	if probs := checkDecision(t, sch, outcome, comment, data); len(probs) > 0 || !ok {
		placeTaskProblems(&p.Form, probs)
		p.Form.Error = "Nothing was decided yet. Correct the fields marked below."
		return s.renderTaskPage(c, http.StatusUnprocessableEntity, p)
	}
	if _, err := s.decideTask(c, t, decisionFor(u, t, outcome, comment, data)); err != nil {
		return s.refuseTaskForm(c, p, err)
	}
	return c.Redirect(http.StatusSeeOther, "/tasks/"+url.PathEscape(t.ID)+"?m=decided")
}

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
	switch ae.Status {
	case http.StatusForbidden, http.StatusConflict, http.StatusNotFound:
		p.CanDecide = false
		if p.State == store.TaskOpen {
			p.Notice = ae.Message
		} else {
			p.Error = ae.Message
		}
	default:
		if probs, ok := ae.Problems.([]TaskProblem); ok {
			placeTaskProblems(&p.Form, probs)
		}
		p.Form.Error = ae.Message
	}
	return s.renderTaskPage(c, ae.Status, p)
}
