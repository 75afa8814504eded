package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/designer"
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
	// ItemTasks lists the tasks of a map's items from index first to last in a run, for a
	// map item's task page; CountItemTasks counts them all.
	ItemTasks(ctx context.Context, runID, node string, first, last int) ([]store.ItemTask, error)
	CountItemTasks(ctx context.Context, runID, node string) (int, error)
}

// TaskProblem names what does not fit in a decision (designer.CheckDecision).
type TaskProblem = designer.DecisionProblem

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

// taskParam loads the task named by :id and checks that the user may read it. A task that is
// not theirs (nor their groups', nor one they handled) is answered exactly as an unknown one,
// 404, so that neither its existence nor its group leaks (issue 18: the 403 named the group).
func (s *Server) taskParam(c echo.Context) (*store.Task, error) {
	id := c.Param("id")
	t, err := s.deps.Tasks.GetTask(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errTaskNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !t.Involves(CurrentUser(c)) {
		return nil, errTaskNotFound(id)
	}
	return t, nil
}

// errTaskNotFound is the one answer for a task that is missing or not the user's.
func errTaskNotFound(id string) *Error {
	if len(id) > 40 {
		id = id[:40] + "…"
	}
	return NewError(http.StatusNotFound, fmt.Sprintf("There is no task %q for you: it does not exist, or it is not assigned to you or your groups.", id))
}

// assigneeWords turns "group:finance" into "group finance" and "user:ann" into "ann".
var assigneeWords = actions.AssigneeWords
