package web

import (
	"context"
	"log/slog"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"trellis/store"
	"trellis/templates"
)

// inboxShow is the reviewers' inbox: tabs mine, my groups and done, filters by graph and
// overdue, and pages of 50 newest first.
func (s *Server) inboxShow(c echo.Context) error {
	ctx := c.Request().Context()
	u := CurrentUser(c)
	now := s.cfg.Now()
	q := c.QueryParams()
	p := templates.InboxProps{Tab: q.Get("tab"), Graph: q.Get("graph"), Overdue: q.Get("overdue") == "1", Now: now}
	view := store.TaskViewMine
	switch p.Tab {
	case "", templates.InboxTabMine:
		p.Tab = templates.InboxTabMine
	case templates.InboxTabGroups:
		view = store.TaskViewGroups
	case templates.InboxTabDone:
		view = store.TaskViewDone
		p.Overdue = false
	default:
		return NewError(http.StatusNotFound, "The inbox has the tabs mine, groups and done.")
	}
	after := q.Get("after")
	page, err := s.deps.Tasks.ListTasks(ctx, store.TaskFilter{User: u, View: view, Graph: p.Graph, Overdue: p.Overdue, Now: now, After: after})
	if err != nil {
		return err
	}
	counts, err := s.deps.Tasks.CountOpen(ctx, u)
	if err != nil {
		return err
	}
	p.Mine, p.Groups = counts.Mine, counts.Groups
	for _, t := range page.Tasks {
		p.Rows = append(p.Rows, templates.InboxRow{ID: t.ID, Title: t.Title, GraphID: t.GraphID, Version: t.Version,
			NodeID: t.NodeID, Assignee: assigneeWords(t.Assignee), State: t.State, DueAt: t.DueAt, CreatedAt: t.CreatedAt,
			Overdue: t.Overdue(now), ClaimedBy: t.ClaimedBy, Outcome: t.Outcome, DecidedBy: t.DecidedBy, DecidedAt: t.DecidedAt})
	}
	if page.Next != "" {
		p.NextURL = templates.InboxQuery(p.Tab, p.Graph, p.Overdue, page.Next)
	}
	if after != "" {
		p.FirstURL = templates.InboxQuery(p.Tab, p.Graph, p.Overdue, "")
	}
	p.Graphs = s.inboxGraphs(ctx, p.Graph)
	return Render(c, http.StatusOK, templates.Page{Title: "Inbox", Section: "/inbox", Body: templates.Inbox(p)})
}

// inboxGraphs lists graph ids for the filter, or none (a text field) without a graph store.
func (s *Server) inboxGraphs(ctx context.Context, current string) []string {
	if s.deps.Graphs == nil {
		return nil
	}
	graphs, err := s.deps.Graphs.ListGraphs(ctx)
	if err != nil {
		s.log.Warn("list graphs for the inbox filter", slog.Any("error", err))
		return nil
	}
	ids := make([]string, 0, len(graphs)+1)
	found := current == ""
	for _, g := range graphs {
		ids = append(ids, g.ID)
		found = found || g.ID == current
	}
	if !found {
		ids = append(ids, current)
	}
	sort.Strings(ids)
	return ids
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
