package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"trellis/actions"
	"trellis/designer"
	"trellis/store"
	"trellis/templates"
)

// A map node of inline approvals opens a task per item, up to its concurrency at once. The
// inbox's open tabs show the open tasks of one map node of one run as one group row (the
// newest task, and how many wait), which links to the group's own list (?run=…&node=…)
// where each item is a row with its tick box. Ticking a group row decides all its items.

// maxInboxRunID bounds the run id of the group filter; run ids are far shorter.
const maxInboxRunID = 256

// inboxGroupParams reads the group filter: both run and node, or neither.
func inboxGroupParams(q url.Values) (run, node string, err error) {
	run, node = strings.TrimSpace(q.Get("run")), strings.TrimSpace(q.Get("node"))
	if run == "" && node == "" {
		return "", "", nil
	}
	if run == "" || len(run) > maxInboxRunID || !designer.ValidNodeID(node) {
		return "", "", NewError(http.StatusBadRequest,
			"A group of items is named by its run and its map node (a node id such as check_items); give both.")
	}
	return run, node, nil
}

// withInboxGroup adds the group filter to an inbox URL.
func withInboxGroup(u, run, node string) string {
	if run == "" {
		return u
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.Values{"run": {run}, "node": {node}}.Encode()
}

// inboxRow is the inbox's row of a task; a grouped task (more than one item waiting) links
// to its group's list.
func inboxRow(t store.Task, names map[string]string, p *templates.InboxProps) templates.InboxRow {
	outcome, by, at := t.Decided()
	r := templates.InboxRow{ID: t.ID, Title: t.Title, GraphID: t.GraphID, GraphName: names[t.GraphID], Version: t.Version,
		NodeID: t.NodeID, Assignee: assigneeWords(t.Assignee), State: t.State, DueAt: t.DueAt, CreatedAt: t.CreatedAt,
		Overdue: t.Overdue(p.Now), ClaimedBy: t.ClaimedBy, Outcome: outcome, DecidedBy: by, DecidedAt: at}
	if t.Item != nil && t.Waiting > 1 {
		r.Group = &templates.InboxGroupRow{Node: t.Item.Node, Waiting: t.Waiting,
			Value: templates.InboxGroupValue(t.Item.Node, t.Item.Run),
			Href:  withInboxGroup(templates.InboxQuery(p.Tab, p.Graph, p.Overdue, ""), t.Item.Run, t.Item.Node)}
	}
	return r
}

// inboxDecideIDs are the tasks a bulk decision names: the ticked tasks, and the open tasks
// of the ticked groups that are the user's, each once.
func (s *Server) inboxDecideIDs(ctx context.Context, u *store.User, ticked, groups []string) ([]string, error) {
	ids := make([]string, 0, len(ticked))
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range ticked {
		add(id)
	}
	for _, g := range groups {
		node, run, ok := strings.Cut(g, ":")
		if !ok || run == "" || len(run) > maxInboxRunID || !designer.ValidNodeID(node) {
			return nil, &actions.Error{Kind: actions.Invalid, Message: "A ticked group is not one of the inbox's groups."}
		}
		// One more than a decision takes, so that DecideMany says how many were chosen.
		page, err := s.deps.Tasks.ListTasks(ctx, store.TaskFilter{User: u, View: store.TaskViewOpen, Run: run, ItemNode: node,
			Limit: actions.MaxDecideMany + 1})
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tasks {
			add(t.ID)
		}
	}
	return ids, nil
}
