package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"trellis/actions"
	"trellis/store"
	"trellis/templates"
)

// inboxShow is the reviewers' inbox: tabs all open (the default: mine and my groups'
// together, so that it opens on whatever the reviewer can act on), mine, my groups and done,
// filters by graph and overdue, and pages of 50 newest first.
func (s *Server) inboxShow(c echo.Context) error {
	ctx := c.Request().Context()
	u := CurrentUser(c)
	now := s.cfg.Now()
	q := c.QueryParams()
	p := templates.InboxProps{Tab: q.Get("tab"), Graph: q.Get("graph"), Overdue: q.Get("overdue") == "1", Now: now}
	var view store.TaskView
	switch p.Tab {
	case "", templates.InboxTabOpen:
		p.Tab, view = templates.InboxTabOpen, store.TaskViewOpen
	case templates.InboxTabMine:
		view = store.TaskViewMine
	case templates.InboxTabGroups:
		view = store.TaskViewGroups
	case templates.InboxTabDone:
		view = store.TaskViewDone
		p.Overdue = false
	default:
		return NewError(http.StatusNotFound, "The inbox has the tabs open, mine, groups and done.")
	}
	after := q.Get("after")
	version, err := inboxVersion(q.Get("version"))
	if err != nil {
		return err
	}
	p.Version = q.Get("version")
	if p.GroupRun, p.GroupNode, err = inboxGroupParams(q); err != nil {
		return err
	}
	page, err := s.deps.Tasks.ListTasks(ctx, store.TaskFilter{User: u, View: view, Graph: p.Graph, Version: version, Overdue: p.Overdue,
		Now: now, After: after, Run: p.GroupRun, ItemNode: p.GroupNode, GroupItems: p.GroupRun == ""})
	if err != nil {
		return err
	}
	counts, err := s.deps.Tasks.CountOpen(ctx, u)
	if err != nil {
		return err
	}
	p.Mine, p.Groups = counts.Mine, counts.Groups
	var names map[string]string
	p.Graphs, names = s.inboxGraphs(ctx, p.Graph)
	seen := map[string]bool{}
	for _, t := range page.Tasks {
		if t.State == store.TaskOpen {
			for _, o := range t.Outcomes {
				if !seen[o] {
					seen[o] = true
					p.Outcomes = append(p.Outcomes, o)
				}
			}
		}
		p.Rows = append(p.Rows, inboxRow(t, names, &p))
	}
	if page.Next != "" {
		p.NextURL = withInboxGroup(withInboxVersion(templates.InboxQuery(p.Tab, p.Graph, p.Overdue, page.Next), version), p.GroupRun, p.GroupNode)
	}
	if after != "" {
		p.FirstURL = withInboxGroup(withInboxVersion(templates.InboxQuery(p.Tab, p.Graph, p.Overdue, ""), version), p.GroupRun, p.GroupNode)
	}
	status := http.StatusOK
	if p.Bulk = s.inboxBulk(c); p.Bulk != nil && p.Bulk.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	return Render(c, status, templates.Page{Title: "Inbox", Section: "/inbox", Body: templates.Inbox(p)})
}

// inboxGraphs lists the graphs for the filter by name, and maps ids to names for the rows;
// none (a text field) without a graph store.
func (s *Server) inboxGraphs(ctx context.Context, current string) ([]templates.InboxGraph, map[string]string) {
	if s.deps.Graphs == nil {
		return nil, nil
	}
	graphs, err := s.deps.Graphs.ListGraphs(ctx)
	if err != nil {
		s.log.Warn("list graphs for the inbox filter", slog.Any("error", err))
		return nil, nil
	}
	names := make(map[string]string, len(graphs))
	out := make([]templates.InboxGraph, 0, len(graphs)+1)
	for _, g := range graphs {
		names[g.ID] = g.Name
		out = append(out, templates.InboxGraph{ID: g.ID, Name: g.Name})
	}
	if _, found := names[current]; current != "" && !found {
		out = append(out, templates.InboxGraph{ID: current, Name: current})
	}
	// Alike names are told apart by their ids.
	seen := map[string]int{}
	for _, g := range out {
		seen[strings.ToLower(g.Name)]++
	}
	for i, g := range out {
		if seen[strings.ToLower(g.Name)] > 1 {
			out[i].Name = g.Name + " (" + g.ID + ")"
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := strings.ToLower(out[i].Name), strings.ToLower(out[j].Name); a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out, names
}

// inboxCounts is the navigation's count of open tasks (mine and my groups'), which the
// layout polls. It answers 200 always, so that a page never logs an error over a badge.
func (s *Server) inboxCounts(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	total := 0
	if s.deps.Tasks != nil {
		counts, err := s.deps.Tasks.CountOpen(c.Request().Context(), CurrentUser(c))
		if err != nil {
			s.log.Warn("count open tasks", slog.Any("error", err))
		}
		total = counts.Total()
	}
	return RenderFragment(c, http.StatusOK, templates.InboxNavCount(total, true))
}

// inboxBulkKey holds what deciding the ticked tasks did, for the inbox page drawn after it.
const inboxBulkKey = "inbox-bulk"

// inboxBulk is what inboxDecideMany did, or nil on a plain GET.
func (s *Server) inboxBulk(c echo.Context) *templates.InboxBulk {
	b, _ := c.Get(inboxBulkKey).(*templates.InboxBulk)
	return b
}

// inboxDecideMany decides the ticked tasks with one outcome and comment (actions.DecideMany)
// and shows the inbox's open tab with what was decided and what was refused, and why.
func (s *Server) inboxDecideMany(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return NewError(http.StatusBadRequest, "The form could not be read.")
	}
	b := &templates.InboxBulk{}
	ids, err := s.inboxDecideIDs(c.Request().Context(), CurrentUser(c), form["task_id"], form["group"])
	var res actions.DecideManyResult
	if err == nil {
		res, err = s.actions.DecideMany(c.Request().Context(), actions.DecideManyRequest{TaskIDs: ids,
			DecideRequest: actions.DecideRequest{User: CurrentUser(c), Outcome: form.Get("outcome"), Comment: form.Get("comment")}})
	}
	var ae *actions.Error
	switch {
	case errors.As(err, &ae) && ae.Kind == actions.Invalid:
		b.Error = ae.Message
	case err != nil:
		return err
	}
	b.Decided = len(res.Decided)
	for _, r := range res.Refused {
		title := "Task " + r.TaskID
		if t, err := s.deps.Tasks.GetTask(c.Request().Context(), r.TaskID); err == nil {
			title = t.Title
		}
		b.Refused = append(b.Refused, templates.InboxRefusal{TaskID: r.TaskID, Title: title, Message: r.Message})
	}
	c.Set(inboxBulkKey, b)
	return s.inboxShow(c)
}
