package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"trellis/designer"
	"trellis/store"
	"trellis/templates"
	"trellis/web/schemaform"
)

// taskFlashes are the confirmations a redirect back to the task page may ask for (?m=…).
var taskFlashes = map[string]string{
	"claimed":   "You have claimed this task. Your group sees that you are on it.",
	"unclaimed": "The task is back with the group.",
	"decided":   "Your decision was recorded and the run goes on.",
}

// taskShow is a task's page: instructions, context, the decision form or the decision, and
// the history.
func (s *Server) taskShow(c echo.Context) error {
	t, err := s.taskParam(c)
	if err != nil {
		return err
	}
	sch, err := taskSchema(t)
	if err != nil {
		return err
	}
	p := s.taskPageProps(c, t, sch)
	p.Form.Fields = schemaform.Fields(sch)
	p.Flash = taskFlashes[c.QueryParam("m")]
	p.VersionNote = s.taskVersionNote(c, t)
	return s.renderTaskPage(c, http.StatusOK, p)
}

func (s *Server) renderTaskPage(c echo.Context, status int, p templates.TaskPageProps) error {
	return Render(c, status, templates.Page{Title: p.Title, Section: "/inbox", Body: templates.TaskPage(p)})
}

// taskPageProps is everything of the page but the form's fields and errors.
func (s *Server) taskPageProps(c echo.Context, t *store.Task, sch *designer.Schema) templates.TaskPageProps {
	u := CurrentUser(c)
	now := s.cfg.Now()
	p := templates.TaskPageProps{
		ID: t.ID, Title: t.Title, GraphID: t.GraphID, GraphName: s.taskGraphName(c, t.GraphID), Version: t.Version,
		RunID: t.RunID, RunURL: s.runPageURL(t.RunID, u),
		NodeID: t.NodeID, Assignee: assigneeWords(t.Assignee), State: t.State, Overdue: t.Overdue(now), DueAt: t.DueAt,
		CreatedAt: t.CreatedAt, ClaimedBy: t.ClaimedBy, Now: now,
		InstructionsHTML: renderInstructions(t.Instructions),
		History:          taskHistory(t.Events),
		Form:             templates.TaskDecisionForm{Outcomes: taskOutcomes(t.Outcomes), NoComment: taskFormHasComment(sch)},
	}
	p.Input, p.Upstream = taskContextParts(t.Context)
	p.Item = s.taskItem(c, t)
	if t.Decision != nil {
		p.Decision = &templates.TaskDecisionView{Outcome: t.Decision.Outcome, DecidedBy: t.Decision.DecidedBy,
			DecidedAt: t.Decision.DecidedAt, Auto: t.Decision.DecidedBy == store.SystemActor,
			Data: taskDataRows(sch, t.Decision.Data), Comment: t.Decision.Comment}
	}
	if t.State != store.TaskOpen {
		return p
	}
	kind, group, _ := store.ParseAssignee(t.Assignee)
	isGroup := kind == store.AssigneeGroup
	p.CanClaim = isGroup && t.ClaimedBy == "" && u.InGroup(group)
	p.CanUnclaim = t.ClaimedBy != "" && (t.ClaimedBy == u.Name || u.HasRole(store.RoleAdmin))
	switch {
	case !t.AssignedTo(u):
		p.Notice = fmt.Sprintf("This task is assigned to %s. You can read it, but not decide it.", assigneeWords(t.Assignee))
	case t.ClaimedBy != "" && t.ClaimedBy != u.Name:
		p.Notice = fmt.Sprintf("%s has claimed this task; only they can decide it, unless they give it back to the group.", t.ClaimedBy)
	case !s.actions.HasEngine():
		p.Notice = "Decisions cannot be sent: this server is not connected to the workflow engine."
	default:
		p.CanDecide = true
	}
	return p
}

// taskGraphName is the name of a task's graph, or "" when it cannot be read (the page shows
// the id then).
func (s *Server) taskGraphName(c echo.Context, id string) string {
	if s.deps.Graphs == nil {
		return ""
	}
	g, err := s.deps.Graphs.GetGraph(c.Request().Context(), id)
	if err != nil {
		return ""
	}
	return g.Name
}

// runPageURL links a run's page when this server has one and u may open it.
func (s *Server) runPageURL(runID string, u *store.User) string {
	for key, r := range s.byKey {
		if rest, ok := strings.CutPrefix(key, http.MethodGet+" /runs/:"); ok && !strings.Contains(rest, "/") && r.allows(u) {
			return "/runs/" + url.PathEscape(runID)
		}
	}
	return ""
}

// taskContextParts splits a task's context into the run input and the upstream outputs,
// each as indented JSON, the nodes in id order.
func taskContextParts(raw json.RawMessage) (templates.TaskContextPart, []templates.TaskContextPart) {
	var c struct {
		Input json.RawMessage            `json:"input"`
		Nodes map[string]json.RawMessage `json:"nodes"`
	}
	input := templates.TaskContextPart{Name: "input", JSON: "null"}
	if err := json.Unmarshal(raw, &c); err != nil {
		return input, nil
	}
	input.JSON = prettyJSON(c.Input)
	ids := make([]string, 0, len(c.Nodes))
	for id := range c.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]templates.TaskContextPart, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, templates.TaskContextPart{Name: id, JSON: prettyJSON(c.Nodes[id])})
	}
	return input, parts
}

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// taskDataRows lists a decision's data in the form's order, then any other keys by name.
func taskDataRows(sch *designer.Schema, raw json.RawMessage) []templates.TaskDataRow {
	var data map[string]any
	if json.Unmarshal(raw, &data) != nil || len(data) == 0 {
		return nil
	}
	var rows []templates.TaskDataRow
	seen := map[string]bool{}
	for _, f := range sch.Fields() {
		if v, ok := data[f.Name]; ok {
			rows = append(rows, templates.TaskDataRow{Label: schemaform.Label(f), Value: taskValueText(v)})
			seen[f.Name] = true
		}
	}
	var rest []string
	for k := range data {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		rows = append(rows, templates.TaskDataRow{Label: templates.Humanize(k), Value: taskValueText(data[k])})
	}
	return rows
}

func taskValueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case nil:
		return "—"
	}
	return schemaform.JSONText(v)
}

// taskHistory turns events into sentences.
func taskHistory(events []store.TaskEvent) []templates.TaskHistoryRow {
	rows := make([]templates.TaskHistoryRow, 0, len(events))
	for _, e := range events {
		var text string
		switch e.Kind {
		case store.TaskEventCreated:
			text = "Created for " + assigneeWords(e.To) + dueSuffix(e.DueAt) + "."
		case store.TaskEventClaimed:
			text = "Claimed by " + e.Actor + "."
		case store.TaskEventUnclaimed:
			if who := strings.TrimPrefix(e.From, "user:"); who != e.Actor {
				text = e.Actor + " took it back from " + who + " for the group."
			} else {
				text = e.Actor + " gave it back to the group."
			}
		case store.TaskEventEscalated:
			text = "Escalated from " + assigneeWords(e.From) + " to " + assigneeWords(e.To) + dueSuffix(e.DueAt) + ": it was not decided in time."
		case store.TaskEventDecided:
			text = "Decided by " + e.Actor + ": " + templates.Humanize(e.Outcome) + "."
		case store.TaskEventAutoDecided:
			text = "Decided automatically, as it was due: " + templates.Humanize(e.Outcome) + "."
		case store.TaskEventCancelled:
			text = "Closed without a decision: the run ended."
		default:
			text = e.Kind
		}
		rows = append(rows, templates.TaskHistoryRow{At: e.At, Text: text})
	}
	return rows
}

func dueSuffix(due *time.Time) string {
	if due == nil {
		return ""
	}
	return ", due " + due.UTC().Format("2 Jan 2006 15:04") + " UTC"
}

// taskItemWindow is how many of a map item's siblings its page links on each side.
const taskItemWindow = 10

// taskItem places the task of a map item among its siblings: "item 3 of 12" and links to
// the nearest siblings' tasks, read from the store by index. The total is the one the run
// gave when it opened the task; tasks opened before runs gave it ask the run's state, or
// count the tasks there are when the run cannot be asked. Nil for any other task.
func (s *Server) taskItem(c echo.Context, t *store.Task) *templates.TaskItem {
	if t.Item == nil {
		return nil
	}
	ctx := c.Request().Context()
	// The map's run: for an item of a map run in batches, the run above the batch's.
	node, index, run := t.Item.Node, t.Item.Index, t.Item.Run
	item := &templates.TaskItem{Node: node, Number: index + 1, Total: t.Item.Total}
	if item.Total == 0 {
		item.Total = s.itemTotal(ctx, run, node)
	}
	siblings, err := s.deps.Tasks.ItemTasks(ctx, run, node, max(index-taskItemWindow, 0), index+taskItemWindow)
	if err != nil {
		s.log.Warn("sibling tasks", slog.String("task", t.ID), slog.Any("error", err))
	}
	for _, sib := range siblings {
		item.Siblings = append(item.Siblings, templates.TaskItemLink{Number: sib.Index + 1, Href: "/tasks/" + sib.ID,
			State: sib.State, Outcome: sib.Outcome, Current: sib.ID == t.ID})
	}
	return item
}

// itemTotal is how many items a map node of a run has, for a task that does not say: from
// the run's state, or else the tasks there are.
func (s *Server) itemTotal(ctx context.Context, runID, node string) int {
	if s.deps.Runs != nil {
		if r, err := s.deps.Runs.GetRun(ctx, runID); err == nil && r.Nodes[node].Items != nil {
			return r.Nodes[node].Items.Total
		}
	}
	n, err := s.deps.Tasks.CountItemTasks(ctx, runID, node)
	if err != nil {
		s.log.Warn("count item tasks", slog.String("run", runID), slog.Any("error", err))
	}
	return n
}
