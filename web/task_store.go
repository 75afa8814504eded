package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/engine"
	"trellis/store"
)

// TaskStore is what the inbox needs of the store (*store.DB implements it). Errors:
// store.ErrNotFound for an unknown task; from ClaimTask and UnclaimTask store.ErrConflict
// (closed, or held by someone else) and store.ErrForbidden (not in the group, not the
// claimer); store.ErrInvalid from ListTasks for a bad cursor.
type TaskStore interface {
	GetTask(ctx context.Context, id string) (*store.Task, error)
	GetTaskByNode(ctx context.Context, runID, nodeID string) (*store.Task, error)
	ListTasks(ctx context.Context, f store.TaskFilter) (store.TaskPage, error)
	CountOpen(ctx context.Context, u *store.User) (store.TaskCounts, error)
	ClaimTask(ctx context.Context, id string, u *store.User) error
	UnclaimTask(ctx context.Context, id string, u *store.User) error
}

// TaskDecider hands a decision to the run waiting on it and returns once the run has
// recorded it and closed the task (*engine.Engine implements it, as the RunEngine or the
// RunStarter). A refusal is an *engine.DecisionError.
type TaskDecider interface {
	Decide(ctx context.Context, runID, nodeID string, d engine.Decision) error
}

// TaskProblem names what does not fit in a decision: Field is "outcome", "comment", or
// "data." and the property; Path is the JSON Pointer into data.
type TaskProblem = engine.DecisionProblem

// Role set of the task routes (admins have every role).
var taskReviewers = []string{store.RoleReviewer}

// Limits of the task routes.
const (
	// taskDecisionLimit bounds a decision: form data, a comment and the JSON around them.
	taskDecisionLimit = 256 << 10
	taskFormLimit     = 64 << 10
)

// needTasks answers 503 when the server was built without a task store.
func (s *Server) needTasks(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.deps.Tasks == nil {
			return NewError(http.StatusServiceUnavailable, "The inbox is not available on this server.")
		}
		return h(c)
	}
}

// taskDecider finds the engine's decision entry, if the server has one.
func (s *Server) taskDecider() TaskDecider {
	if d, ok := s.deps.Runs.(TaskDecider); ok {
		return d
	}
	if d, ok := s.deps.Starter.(TaskDecider); ok {
		return d
	}
	return nil
}

// taskParam loads the task named by :id and checks that the user may read it: 404 for an
// unknown task, 403 for one that is not theirs (nor their groups', nor one they handled).
func (s *Server) taskParam(c echo.Context) (*store.Task, error) {
	t, err := s.deps.Tasks.GetTask(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if !t.Involves(CurrentUser(c)) {
		return nil, errForbidden(fmt.Sprintf("Task %s is assigned to %s; it is not yours to see.", t.ID, assigneeWords(t.Assignee)))
	}
	return t, nil
}

// taskError maps the store's task errors that web/errors.go does not know (ErrForbidden).
func taskError(err error) error {
	if errors.Is(err, store.ErrForbidden) {
		e := errForbidden(sentence(err.Error()) + ".")
		e.Err = err
		return e
	}
	return err
}

// assigneeWords turns "group:finance" into "group finance" and "user:ann" into "ann".
func assigneeWords(a string) string {
	kind, name, ok := strings.Cut(a, ":")
	if !ok {
		return a
	}
	if kind == store.AssigneeGroup {
		return "group " + name
	}
	return name
}
