package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TaskView is which tasks of a user a list shows.
type TaskView string

// Task views. Mine and Groups never share a task, so their counts add up.
const (
	// TaskViewMine: open tasks assigned to the user, or claimed by them.
	TaskViewMine TaskView = "mine"
	// TaskViewGroups: open tasks of the user's groups that they have not claimed.
	TaskViewGroups TaskView = "groups"
	// TaskViewOpen: Mine and Groups together.
	TaskViewOpen TaskView = "open"
	// TaskViewDone: closed tasks (decided or cancelled) that were the user's or their groups',
	// or that they decided.
	TaskViewDone TaskView = "done"
	// TaskViewDoneMine: closed tasks assigned to the user, claimed or decided by them.
	TaskViewDoneMine TaskView = "done-mine"
)

// Paging limits of ListTasks.
const (
	DefaultTaskPageSize = 50
	MaxTaskPageSize     = 200
)

// TaskFilter selects a page of tasks.
type TaskFilter struct {
	User *User // whose inbox; required
	View TaskView
	// Graph keeps only the tasks of that graph; empty keeps all.
	Graph string
	// Version keeps only the tasks of runs on that version; 0 keeps all.
	Version int
	// Overdue keeps only open tasks past their due time at Now.
	Overdue bool
	Now     time.Time // zero means the store's clock
	Limit   int       // 0 means DefaultTaskPageSize
	// After is the Next of the previous page; empty starts at the newest task.
	After string
	// Run and ItemNode keep only the tasks of one run, and of the items of one map node.
	Run, ItemNode string
	// GroupItems lists the open tasks of one map node's items in a run as one task, the
	// newest, with Task.Waiting set; closed views ignore it.
	GroupItems bool
}

// TaskPage is one page of tasks, newest first. Next is the cursor of the following page, ""
// on the last one.
// A listed task has its outcomes but no instructions, form, context or events, and its
// decision only the outcome, who and when.
type TaskPage struct {
	Tasks []Task
	Next  string
}

// TaskCounts are the open tasks waiting for a user.
type TaskCounts struct {
	Mine   int `json:"mine"`
	Groups int `json:"groups"`
}

// Total is what the navigation badge shows.
func (c TaskCounts) Total() int { return c.Mine + c.Groups }

// taskArm is one index-backed way into the tasks: state, and one indexed column equal to a
// value, newest first. A view is the union of its arms.
type taskArm struct {
	state, col, val string
	notClaimedBy    string // for group arms: leave out what this user claimed
}

func taskArms(u *User, view TaskView) ([]taskArm, error) {
	mine := func(state string) []taskArm {
		return []taskArm{{state: state, col: "assignee", val: AssigneeUser + ":" + u.Name}, {state: state, col: "claimed_by", val: u.Name}}
	}
	groups := func(state, notClaimedBy string) []taskArm {
		var arms []taskArm
		for _, g := range u.Groups {
			arms = append(arms, taskArm{state: state, col: "assignee", val: AssigneeGroup + ":" + g, notClaimedBy: notClaimedBy})
		}
		return arms
	}
	switch view {
	case TaskViewMine, "":
		return mine(TaskOpen), nil
	case TaskViewGroups:
		return groups(TaskOpen, u.Name), nil
	case TaskViewOpen:
		return append(mine(TaskOpen), groups(TaskOpen, u.Name)...), nil
	case TaskViewDone, TaskViewDoneMine:
		var arms []taskArm
		for _, st := range []string{TaskDone, TaskCancelled} {
			arms = append(arms, mine(st)...)
			arms = append(arms, taskArm{state: st, col: "decided_by", val: u.Name})
			if view == TaskViewDone {
				arms = append(arms, groups(st, "")...)
			}
		}
		return arms, nil
	}
	return nil, invalidf("unknown task view %q: use mine, groups, open, done or done-mine", view)
}

// cursor is the position after the last task of a page: (created_at, id), newest first.
type cursor struct {
	created, id int64
}

func (c cursor) String() string {
	return strconv.FormatInt(c.created, 36) + "." + strconv.FormatInt(c.id, 36)
}

func parseCursor(s string) (cursor, error) {
	a, b, ok := strings.Cut(s, ".")
	created, err1 := strconv.ParseInt(a, 36, 64)
	id, err2 := strconv.ParseInt(b, 36, 64)
	if !ok || err1 != nil || err2 != nil || id <= 0 {
		return cursor{}, invalidf("the page cursor %q is not valid; start again from the first page", clipRunes(s, 40))
	}
	return cursor{created: created, id: id}, nil
}

// listTasksSQL builds the query of a view: each arm reads at most limit rows from its index
// in order, and the union of those few keys is sorted and joined to the table. The cost is
// a handful of index seeks however many tasks there are.
func listTasksSQL(arms []taskArm, f TaskFilter, after *cursor, limit int, now int64) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT t.id, t.run_id, t.node_id, t.graph_id, t.version, t.title, t.assignee, t.state, t.due_at, t.created_at,
	t.claimed_by, t.outcome, t.decided_by, t.decided_at, t.outcomes, t.item_node, t.item_index, t.item_total, t.item_run FROM (`)
	for i, a := range arms {
		if i > 0 {
			b.WriteString("\n\tUNION\n")
		}
		where, wargs := armWhere(a, f, after, now)
		fmt.Fprintf(&b, `SELECT id, created_at FROM (SELECT id, created_at FROM tasks INDEXED BY %s WHERE %s ORDER BY created_at DESC, id DESC LIMIT ?)`,
			armIndex(a.col), where)
		args = append(args, wargs...)
		args = append(args, limit)
	}
	b.WriteString(`) k JOIN tasks t ON t.id = k.id ORDER BY k.created_at DESC, k.id DESC LIMIT ?`)
	args = append(args, limit)
	return b.String(), args
}

func armIndex(col string) string {
	switch col {
	case "claimed_by":
		return "tasks_by_claimer"
	case "decided_by":
		return "tasks_by_decider"
	}
	return "tasks_by_assignee"
}

func armWhere(a taskArm, f TaskFilter, after *cursor, now int64) (string, []any) {
	where, args := armConds(a, f, now, "")
	if f.GroupItems && a.state == TaskOpen {
		// An item task is listed only as its group's newest in this arm.
		g, gargs := armConds(a, f, now, "g.")
		where = append(where, `(item_node IS NULL OR id = (SELECT max(g.id) FROM tasks g INDEXED BY tasks_open_items
			WHERE g.item_run = tasks.item_run AND g.item_node = tasks.item_node AND g.state = 'open' AND `+strings.Join(g, " AND ")+`))`)
		args = append(args, gargs...)
	}
	if after != nil {
		where = append(where, "(created_at, id) < (?, ?)")
		args = append(args, after.created, after.id)
	}
	return strings.Join(where, " AND "), args
}

// armConds are the conditions of an arm and the filters, on columns of the table named by
// prefix ("" or "g.").
func armConds(a taskArm, f TaskFilter, now int64, prefix string) ([]string, []any) {
	// col comes from taskArms only, never from input.
	where := []string{prefix + "state = ?", prefix + a.col + " = ?"}
	args := []any{a.state, a.val}
	add := func(cond string, v ...any) {
		where = append(where, prefix+cond)
		args = append(args, v...)
	}
	if a.notClaimedBy != "" {
		add("claimed_by <> ?", a.notClaimedBy)
	}
	if f.Graph != "" {
		add("graph_id = ?", f.Graph)
	}
	if f.Version > 0 {
		add("version = ?", f.Version)
	}
	if f.Overdue {
		add("due_at IS NOT NULL AND "+prefix+"due_at < ?", now)
	}
	switch {
	case f.Run != "" && f.ItemNode != "":
		// A map's items, across its batches when it has them.
		add("item_run = ?", f.Run)
	case f.Run != "":
		add("run_id = ?", f.Run)
	}
	if f.ItemNode != "" {
		add("item_node = ?", f.ItemNode)
	}
	return where, args
}

// ListTasks returns a page of the tasks of f.User in f.View, newest first. Paging is by
// cursor, so a page costs the same at the first task as at the 100,000th.
func (db *DB) ListTasks(ctx context.Context, f TaskFilter) (TaskPage, error) {
	page := TaskPage{Tasks: []Task{}}
	if f.User == nil {
		return page, invalidf("a task list needs a user")
	}
	arms, err := taskArms(f.User, f.View)
	if err != nil {
		return page, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultTaskPageSize
	}
	limit = min(limit, MaxTaskPageSize)
	var after *cursor
	if f.After != "" {
		c, err := parseCursor(f.After)
		if err != nil {
			return page, err
		}
		after = &c
	}
	if f.Overdue && (f.View == TaskViewDone || f.View == TaskViewDoneMine) {
		return page, nil // closed tasks are never overdue
	}
	if len(arms) == 0 {
		return page, nil
	}
	now := f.Now
	if now.IsZero() {
		now = db.now()
	}
	// One row more than the page tells whether another page follows.
	q, args := listTasksSQL(arms, f, after, limit+1, now.UnixNano())
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return page, fmt.Errorf("list tasks: %w", err)
	}
	defer rows.Close()
	var last cursor
	for rows.Next() {
		if len(page.Tasks) == limit {
			page.Next = last.String()
			break
		}
		var s Task
		var id, created int64
		var due, decided sql.NullInt64
		var outcome, decidedBy, outcomes string
		var itemNode, itemRun sql.NullString
		var itemIndex, itemTotal sql.NullInt64
		if err := rows.Scan(&id, &s.RunID, &s.NodeID, &s.GraphID, &s.Version, &s.Title, &s.Assignee, &s.State, &due, &created,
			&s.ClaimedBy, &outcome, &decidedBy, &decided, &outcomes, &itemNode, &itemIndex, &itemTotal, &itemRun); err != nil {
			return page, fmt.Errorf("list tasks: %w", err)
		}
		s.Item = taskItemOf(itemNode, itemIndex, itemTotal, itemRun)
		if err := json.Unmarshal([]byte(outcomes), &s.Outcomes); err != nil {
			return page, fmt.Errorf("list tasks: outcomes of task %d: %w", id, err)
		}
		s.ID, s.CreatedAt, s.DueAt = taskIDString(id), fromNanos(created), timeOrNil(due)
		if outcome != "" {
			s.Decision = &TaskDecision{Outcome: outcome, DecidedBy: decidedBy}
			if decided.Valid {
				s.Decision.DecidedAt = fromNanos(decided.Int64)
			}
		}
		page.Tasks = append(page.Tasks, s)
		last = cursor{created: created, id: id}
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list tasks: %w", err)
	}
	if f.GroupItems {
		return db.groupItems(ctx, page, arms, f, now.UnixNano())
	}
	return page, nil
}

// groupItems keeps one task of each (run, map node) of a grouped page, the first (newest),
// which an arm of its own may list beside another's (a claimed item beside its group's), and
// counts the open tasks of each group in the view.
func (db *DB) groupItems(ctx context.Context, page TaskPage, arms []taskArm, f TaskFilter, now int64) (TaskPage, error) {
	type key struct{ run, node string }
	seen := map[key]bool{}
	kept := page.Tasks[:0]
	for _, t := range page.Tasks {
		if t.Item == nil || t.State != TaskOpen {
			kept = append(kept, t)
			continue
		}
		k := key{t.Item.Run, t.Item.Node}
		if seen[k] {
			continue
		}
		seen[k] = true
		var ors []string
		var args []any
		for _, a := range arms {
			where, wargs := armConds(a, f, now, "")
			ors = append(ors, "("+strings.Join(where, " AND ")+")")
			args = append(args, wargs...)
		}
		q := `SELECT count(*) FROM tasks INDEXED BY tasks_open_items WHERE item_run = ? AND item_node = ? AND state = 'open' AND (` +
			strings.Join(ors, " OR ") + `)`
		if err := db.db.QueryRowContext(ctx, q, append([]any{t.Item.Run, t.Item.Node}, args...)...).Scan(&t.Waiting); err != nil {
			return page, fmt.Errorf("list tasks: count the items of %s/%s: %w", t.Item.Run, t.Item.Node, err)
		}
		kept = append(kept, t)
	}
	page.Tasks = kept
	return page, nil
}

// CountOpen counts the open tasks waiting for u, for the navigation badge and the inbox tabs.
func (db *DB) CountOpen(ctx context.Context, u *User) (TaskCounts, error) {
	var c TaskCounts
	if u == nil {
		return c, nil
	}
	count := func(arms []taskArm) (int, error) {
		total := 0
		for _, a := range arms {
			where, args := armWhere(a, TaskFilter{}, nil, 0)
			var n int
			if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM tasks INDEXED BY `+armIndex(a.col)+` WHERE `+where, args...).Scan(&n); err != nil {
				return 0, fmt.Errorf("count tasks of %s: %w", u.Name, err)
			}
			total += n
		}
		return total, nil
	}
	mine, _ := taskArms(u, TaskViewMine)
	groups, _ := taskArms(u, TaskViewGroups)
	var err error
	if c.Mine, err = count(mine); err != nil {
		return c, err
	}
	if c.Groups, err = count(groups); err != nil {
		return c, err
	}
	return c, nil
}

// explainListTasks returns SQLite's plan for a ListTasks query, for tests that check the
// indexes are used.
func (db *DB) explainListTasks(ctx context.Context, f TaskFilter) ([]string, error) {
	arms, err := taskArms(f.User, f.View)
	if err != nil {
		return nil, err
	}
	var after *cursor
	if f.After != "" {
		c, err := parseCursor(f.After)
		if err != nil {
			return nil, err
		}
		after = &c
	}
	q, args := listTasksSQL(arms, f, after, DefaultTaskPageSize+1, time.Now().UnixNano())
	rows, err := db.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}
