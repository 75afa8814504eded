package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// taskRowJSON is one row of GET /api/v1/tasks.
type taskRowJSON struct {
	ID        string     `json:"id"`
	RunID     string     `json:"run_id"`
	Node      string     `json:"node"`
	Graph     string     `json:"graph"`
	Version   int        `json:"version"`
	Title     string     `json:"title"`
	Assignee  string     `json:"assignee"`
	State     string     `json:"state"`
	DueAt     *time.Time `json:"due_at"`
	CreatedAt time.Time  `json:"created_at"`
	Overdue   bool       `json:"overdue"`
	ClaimedBy string     `json:"claimed_by,omitempty"`
	Outcome   string     `json:"outcome,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// Item places a map item's task: item index (from 0) of map node, of total (when known).
	Item *taskItemJSON `json:"item,omitempty"`
}

type taskItemJSON struct {
	Node  string `json:"node"`
	Index int    `json:"index"`
	Total int    `json:"total,omitempty"`
}

func taskItemOf(t *store.Task) *taskItemJSON {
	if t.Item == nil {
		return nil
	}
	return &taskItemJSON{Node: t.Item.Node, Index: t.Item.Index, Total: t.Item.Total}
}

// taskJSONView is GET /api/v1/tasks/{id}: the task with its form and instructions.
type taskJSONView struct {
	taskRowJSON
	Instructions     string              `json:"instructions"`
	InstructionsHTML string              `json:"instructions_html"`
	Form             json.RawMessage     `json:"form"`
	Outcomes         []string            `json:"outcomes"`
	Context          json.RawMessage     `json:"context"`
	Decision         *store.TaskDecision `json:"decision"`
	History          []store.TaskEvent   `json:"history"`
}

func (s *Server) taskJSON(t *store.Task) taskJSONView {
	now := s.cfg.Now()
	v := taskJSONView{
		taskRowJSON: taskRowJSON{ID: t.ID, RunID: t.RunID, Node: t.NodeID, Graph: t.GraphID, Version: t.Version, Title: t.Title,
			Assignee: t.Assignee, State: t.State, DueAt: t.DueAt, CreatedAt: t.CreatedAt, Overdue: t.Overdue(now), ClaimedBy: t.ClaimedBy,
			Item: taskItemOf(t)},
		Instructions: t.Instructions, InstructionsHTML: renderInstructions(t.Instructions),
		Form: t.Form, Outcomes: t.Outcomes, Context: t.Context, Decision: t.Decision, History: t.Events,
	}
	if v.Form == nil {
		v.Form = json.RawMessage(`null`)
	}
	if d := t.Decision; d != nil {
		v.Outcome, v.DecidedBy = d.Outcome, d.DecidedBy
		at := d.DecidedAt
		v.DecidedAt = &at
		if d.Data == nil {
			c := *d
			c.Data = json.RawMessage(`{}`)
			v.Decision = &c
		}
	}
	return v
}

func taskRow(t store.Task, now time.Time) taskRowJSON {
	outcome, by, at := t.Decided()
	return taskRowJSON{ID: t.ID, RunID: t.RunID, Node: t.NodeID, Graph: t.GraphID, Version: t.Version, Title: t.Title,
		Assignee: t.Assignee, State: t.State, DueAt: t.DueAt, CreatedAt: t.CreatedAt, Overdue: t.Overdue(now),
		ClaimedBy: t.ClaimedBy, Outcome: outcome, DecidedBy: by, DecidedAt: at, Item: taskItemOf(&t)}
}

// taskListAPI answers GET /api/v1/tasks?state=open|done&mine=true&graph=&overdue=true&limit=
// &after=&run=&node=: the user's tasks, newest first (run and node: the items of one map node). state=open (the default) lists the user's tasks
// and their groups', mine=true only the user's; state=done the closed ones. The next page's
// cursor is in the X-Next-Cursor header and a Link rel="next".
func (s *Server) taskListAPI(c echo.Context) error {
	q := c.QueryParams()
	mine, err := queryBool(q, "mine")
	if err != nil {
		return err
	}
	overdue, err := queryBool(q, "overdue")
	if err != nil {
		return err
	}
	var view store.TaskView
	switch state := q.Get("state"); {
	case (state == "" || state == store.TaskOpen) && mine:
		view = store.TaskViewMine
	case state == "" || state == store.TaskOpen:
		view = store.TaskViewOpen
	case state == store.TaskDone && mine:
		view = store.TaskViewDoneMine
	case state == store.TaskDone:
		view = store.TaskViewDone
	default:
		return NewError(http.StatusBadRequest, "state must be open or done.")
	}
	limit := 0
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > store.MaxTaskPageSize {
			return NewError(http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(store.MaxTaskPageSize)+".")
		}
	}
	run, node, err := inboxGroupParams(q)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	page, err := s.deps.Tasks.ListTasks(c.Request().Context(), store.TaskFilter{User: CurrentUser(c), View: view,
		Graph: q.Get("graph"), Overdue: overdue, Now: now, Limit: limit, After: q.Get("after"), Run: run, ItemNode: node})
	if err != nil {
		return err
	}
	rows := make([]taskRowJSON, 0, len(page.Tasks))
	for _, t := range page.Tasks {
		rows = append(rows, taskRow(t, now))
	}
	if page.Next != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("after", page.Next)
		c.Response().Header().Set("X-Next-Cursor", page.Next)
		c.Response().Header().Set("Link", `</api/v1/tasks?`+next.Encode()+`>; rel="next"`)
	}
	return c.JSON(http.StatusOK, rows)
}

// queryBool reads true/false/1/0 (absent is false).
func queryBool(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, NewError(http.StatusBadRequest, name+" must be true or false.")
	}
	return b, nil
}

// taskShowAPI answers GET /api/v1/tasks/{id}: the task with its form, instructions (the
// Markdown and the sanitised HTML), context, decision and history.
func (s *Server) taskShowAPI(c echo.Context) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.taskJSON(t))
}

// taskClaimAPI answers POST /api/v1/tasks/{id}/claim and …/unclaim: 200 with the task.
func (s *Server) taskClaimAPI(claim bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		t, err := s.taskParam(c)
		if err != nil {
			return err
		}
		if err := s.claim(c, t, claim); err != nil {
			return err
		}
		t, err = s.deps.Tasks.GetTask(c.Request().Context(), t.ID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, s.taskJSON(t))
	}
}
