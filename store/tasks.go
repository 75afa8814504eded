package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"trellis/designer"
)

// Task states.
const (
	TaskOpen      = "open"
	TaskDone      = "done"
	TaskCancelled = "cancelled"
)

// Task event kinds, in a task's history.
const (
	TaskEventCreated     = "created"
	TaskEventClaimed     = "claimed"
	TaskEventUnclaimed   = "unclaimed"
	TaskEventEscalated   = "escalated"
	TaskEventDecided     = "decided"
	TaskEventAutoDecided = "auto_decided"
	TaskEventCancelled   = "cancelled"
)

// SystemActor decides tasks through their due rule.
const SystemActor = "system"

// Limits of what a task keeps. Longer titles and instructions are clipped and larger
// contexts are trimmed rather than refused: a run must not fail over how much it shows.
const (
	MaxTaskTitleLength       = 300      // characters
	MaxTaskInstructionsBytes = 64 << 10 // bytes of Markdown
	MaxTaskContextBytes      = 64 << 10 // bytes of JSON
	MaxTaskCommentLength     = designer.MaxCommentLength
)

// ErrForbidden is returned when the user may not act on a task (claim, unclaim).
var ErrForbidden = errors.New("forbidden")

func forbiddenf(format string, args ...any) error {
	return &appError{kind: ErrForbidden, msg: fmt.Sprintf(format, args...)}
}

// Task is the human step of one approval node in one run.
type Task struct {
	ID           string
	RunID        string
	NodeID       string
	GraphID      string
	Version      int
	Title        string
	Instructions string // Markdown source
	Assignee     string // "user:NAME" or "group:NAME"
	Form         json.RawMessage
	Outcomes     []string
	Context      json.RawMessage // {"input": …, "nodes": {id: output}}
	State        string
	DueAt        *time.Time
	CreatedAt    time.Time
	ClaimedBy    string
	Decision     *TaskDecision // nil while open and for a cancelled task
	Events       []TaskEvent   // oldest first; only GetTask fills it
	// Item is where a map item's task stands among its map's items; nil for any other task.
	Item *TaskItem
	// Waiting is, in a list that groups item tasks (TaskFilter.GroupItems), how many open
	// tasks of this task's map node and run the list would show, this one included; 0 else.
	Waiting int
}

// TaskItem places a map item's task: item Index (from 0) of map node Node of run Run, of
// Total items (0 when the run did not say). Run is the task's run, or for an item of a map
// run in batches (RUN.NODE.batchK, kind_map.go) RUN, the run whose map it is: the column
// item_run of migration 0012, the rule's one home.
type TaskItem struct {
	Node  string
	Index int
	Total int
	Run   string
}

// taskItemOf fills Task.Item from its columns.
func taskItemOf(node sql.NullString, index, total sql.NullInt64, run sql.NullString) *TaskItem {
	if !node.Valid || !index.Valid {
		return nil
	}
	return &TaskItem{Node: node.String, Index: int(index.Int64), Total: int(total.Int64), Run: run.String}
}

// TaskDecision is how a task was decided.
type TaskDecision struct {
	Outcome   string          `json:"outcome"`
	Data      json.RawMessage `json:"data"`
	Comment   string          `json:"comment"`
	DecidedBy string          `json:"decided_by"`
	DecidedAt time.Time       `json:"decided_at"`
}

// TaskEvent is one entry of a task's history.
type TaskEvent struct {
	At      time.Time  `json:"at"`
	Kind    string     `json:"kind"`
	Actor   string     `json:"actor,omitempty"`
	From    string     `json:"from,omitempty"`
	To      string     `json:"to,omitempty"`
	DueAt   *time.Time `json:"due_at,omitempty"`
	Outcome string     `json:"outcome,omitempty"`
}

// NewTask is what CreateTask needs: the task as the engine renders it.
type NewTask = designer.NewTask

// Overdue reports whether the task is open past its due time.
func (t *Task) Overdue(now time.Time) bool {
	return t.State == TaskOpen && t.DueAt != nil && now.After(*t.DueAt)
}

// Decided is the task's outcome, who decided it and when; empty and nil while undecided.
func (t *Task) Decided() (outcome, by string, at *time.Time) {
	if t.Decision == nil {
		return "", "", nil
	}
	when := t.Decision.DecidedAt
	return t.Decision.Outcome, t.Decision.DecidedBy, &when
}

// AssignedTo reports whether the task is u's as far as assignment goes: assigned to u, to a
// group of u's, or claimed by u. Who may decide is designer.MayDecide.
func (t *Task) AssignedTo(u *User) bool {
	if u == nil {
		return false
	}
	return t.ClaimedBy != "" && t.ClaimedBy == u.Name || designer.Assigned(t.Assignee, u.Name, u.Groups)
}

// Involves reports whether u may read the task: an admin, anyone it is assigned to (now or
// before an escalation), its claimer and its decider.
func (t *Task) Involves(u *User) bool {
	if u == nil {
		return false
	}
	if u.HasRole(RoleAdmin) || t.AssignedTo(u) {
		return true
	}
	if t.Decision != nil && t.Decision.DecidedBy == u.Name {
		return true
	}
	for _, e := range t.Events {
		if e.Actor == u.Name || designer.Assigned(e.From, u.Name, u.Groups) {
			return true
		}
	}
	return false
}

// Assignee kinds.
const (
	AssigneeUser  = designer.AssigneeUser
	AssigneeGroup = designer.AssigneeGroup
)

// ParseAssignee splits "user:NAME" or "group:NAME" and checks the name.
func ParseAssignee(s string) (kind, name string, err error) {
	kind, name, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || (kind != AssigneeUser && kind != AssigneeGroup) {
		return "", "", invalidf("assignee %q must be user:NAME or group:NAME", s)
	}
	if !namePattern.MatchString(name) {
		return "", "", invalidf("assignee %q: %q is not a valid %s name", s, name, kind)
	}
	return kind, name, nil
}

// CreateTask stores the task of a run's approval node. It is idempotent per (run, node): when
// the task exists already (a retried activity), it returns that one and created is false.
func (db *DB) CreateTask(ctx context.Context, in NewTask) (t *Task, created bool, err error) {
	row, err := db.prepareTask(in)
	if err != nil {
		return nil, false, err
	}
	var id int64
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		id, created, err = insertTask(ctx, tx, row)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("create task for %s/%s: %w", in.RunID, in.NodeID, err)
	}
	t, err = db.getTask(ctx, id)
	return t, created, err
}

// CreateTasks stores many tasks in one transaction, as CreateTask would one by one, and
// returns how many were new. It is for imports and for filling a store in benchmarks.
func (db *DB) CreateTasks(ctx context.Context, in []NewTask) (int, error) {
	rows := make([]taskRow, len(in))
	for i := range in {
		r, err := db.prepareTask(in[i])
		if err != nil {
			return 0, err
		}
		rows[i] = r
	}
	n := 0
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			_, created, err := insertTask(ctx, tx, r)
			if err != nil {
				return err
			}
			if created {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("create tasks: %w", err)
	}
	return n, nil
}

// taskRow is a NewTask checked and encoded for its row.
type taskRow struct {
	in       NewTask
	form     []byte
	outcomes string
	context  []byte
	created  int64
}

func (db *DB) prepareTask(in NewTask) (taskRow, error) {
	if in.RunID == "" || in.NodeID == "" {
		return taskRow{}, invalidf("a task needs its run and node")
	}
	if _, _, err := ParseAssignee(in.Assignee); err != nil {
		return taskRow{}, err
	}
	in.Assignee = strings.TrimSpace(in.Assignee)
	if len(in.Outcomes) == 0 {
		return taskRow{}, invalidf("a task needs at least one outcome")
	}
	r := taskRow{created: db.nowNanos()}
	if !in.CreatedAt.IsZero() {
		r.created = in.CreatedAt.UnixNano()
	}
	if f := strings.TrimSpace(string(in.Form)); f != "" && f != "null" {
		if !json.Valid(in.Form) {
			return taskRow{}, invalidf("the task form is not valid JSON")
		}
		r.form = []byte(f)
	}
	outcomes, err := json.Marshal(in.Outcomes)
	if err != nil {
		return taskRow{}, fmt.Errorf("task outcomes: %w", err)
	}
	r.outcomes = string(outcomes)
	r.context = boundContext(in.Context, MaxTaskContextBytes)
	in.Title = clipRunes(strings.TrimSpace(in.Title), MaxTaskTitleLength)
	if in.Title == "" {
		in.Title = in.NodeID
	}
	in.Instructions = clipBytes(in.Instructions, MaxTaskInstructionsBytes)
	r.in = in
	return r, nil
}

// insertTask inserts r unless its (run, node) has a task already, whose id it returns.
func insertTask(ctx context.Context, tx *sql.Tx, r taskRow) (int64, bool, error) {
	in := r.in
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM tasks WHERE run_id = ? AND node_id = ?`, in.RunID, in.NodeID).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	var itemNode, itemIndex, itemTotal any
	if node, index, ok := MapItemOf(in.NodeID); ok {
		itemNode, itemIndex = node, index
		if in.ItemTotal > 0 {
			itemTotal = in.ItemTotal
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO tasks (run_id, node_id, graph_id, version, title, instructions, assignee,
			form, outcomes, context, state, due_at, created_at, item_node, item_index, item_total)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)`,
		in.RunID, in.NodeID, in.GraphID, in.Version, in.Title, in.Instructions, in.Assignee,
		r.form, r.outcomes, r.context, nanosOrNil(in.DueAt), r.created, itemNode, itemIndex, itemTotal)
	if err != nil {
		return 0, false, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, false, err
	}
	return id, true, addEvent(ctx, tx, id, r.created, TaskEvent{Kind: TaskEventCreated, To: in.Assignee, DueAt: in.DueAt})
}

func addEvent(ctx context.Context, tx *sql.Tx, taskID, at int64, e TaskEvent) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO task_events (task_id, at, kind, actor, from_assignee, to_assignee, due_at, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, taskID, at, e.Kind, e.Actor, e.From, e.To, nanosOrNil(e.DueAt), e.Outcome)
	return err
}

func nanosOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func timeOrNil(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

// TaskIDString formats a task id as the API shows it.
func taskIDString(id int64) string { return strconv.FormatInt(id, 10) }

// parseTaskID reads an id from the API; anything else is simply not found.
func parseTaskID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || taskIDString(n) != id {
		return 0, notFoundf("task %q not found", clipRunes(id, 40))
	}
	return n, nil
}

const taskColumns = `SELECT id, run_id, node_id, graph_id, version, title, instructions, assignee, form, outcomes, context,
	state, due_at, created_at, claimed_by, outcome, data, comment, decided_by, decided_at, item_node, item_index, item_total, item_run FROM tasks`

func scanTask(row interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var id, created int64
	var form, data, taskCtx []byte
	var outcomes string
	var due, decidedAt sql.NullInt64
	var d TaskDecision
	var itemNode, itemRun sql.NullString
	var itemIndex, itemTotal sql.NullInt64
	if err := row.Scan(&id, &t.RunID, &t.NodeID, &t.GraphID, &t.Version, &t.Title, &t.Instructions, &t.Assignee,
		&form, &outcomes, &taskCtx, &t.State, &due, &created, &t.ClaimedBy, &d.Outcome, &data, &d.Comment,
		&d.DecidedBy, &decidedAt, &itemNode, &itemIndex, &itemTotal, &itemRun); err != nil {
		return nil, err
	}
	t.Item = taskItemOf(itemNode, itemIndex, itemTotal, itemRun)
	t.ID = taskIDString(id)
	if len(form) > 0 {
		t.Form = json.RawMessage(form)
	}
	if err := json.Unmarshal([]byte(outcomes), &t.Outcomes); err != nil {
		return nil, fmt.Errorf("outcomes of task %d: %w", id, err)
	}
	t.Context = json.RawMessage(taskCtx)
	t.DueAt = timeOrNil(due)
	t.CreatedAt = fromNanos(created)
	if t.State == TaskDone {
		if len(data) > 0 {
			d.Data = json.RawMessage(data)
		}
		d.DecidedAt = fromNanos(decidedAt.Int64)
		t.Decision = &d
	}
	return &t, nil
}

// GetTask returns the task with its history, or ErrNotFound.
func (db *DB) GetTask(ctx context.Context, id string) (*Task, error) {
	n, err := parseTaskID(id)
	if err != nil {
		return nil, err
	}
	return db.getTask(ctx, n)
}

// GetTaskByNode returns the task of a run's node with its history, or ErrNotFound.
func (db *DB) GetTaskByNode(ctx context.Context, runID, nodeID string) (*Task, error) {
	var id int64
	err := db.db.QueryRowContext(ctx, `SELECT id FROM tasks WHERE run_id = ? AND node_id = ?`, runID, nodeID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("run %s has no task for node %s", runID, nodeID)
	}
	if err != nil {
		return nil, fmt.Errorf("task of %s/%s: %w", runID, nodeID, err)
	}
	return db.getTask(ctx, id)
}

func (db *DB) getTask(ctx context.Context, id int64) (*Task, error) {
	t, err := scanTask(db.db.QueryRowContext(ctx, taskColumns+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundf("task %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", id, err)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT at, kind, actor, from_assignee, to_assignee, due_at, outcome
		FROM task_events WHERE task_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("history of task %d: %w", id, err)
	}
	defer rows.Close()
	t.Events = []TaskEvent{}
	for rows.Next() {
		var e TaskEvent
		var at int64
		var due sql.NullInt64
		if err := rows.Scan(&at, &e.Kind, &e.Actor, &e.From, &e.To, &due, &e.Outcome); err != nil {
			return nil, fmt.Errorf("history of task %d: %w", id, err)
		}
		e.At, e.DueAt = fromNanos(at), timeOrNil(due)
		t.Events = append(t.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of task %d: %w", id, err)
	}
	return t, nil
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// clipBytes cuts s to at most n bytes on a rune boundary.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// boundContext keeps a task's context under max bytes. Context is {"input": …, "nodes": {id:
// output}}; the largest parts are replaced by a note of their size until it fits, so what a
// reviewer sees stays readable JSON.
func boundContext(raw json.RawMessage, max int) json.RawMessage {
	if len(raw) == 0 || strings.TrimSpace(string(raw)) == "null" {
		return json.RawMessage(`{}`)
	}
	if !json.Valid(raw) {
		return json.RawMessage(`{}`)
	}
	if len(raw) <= max {
		return raw
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return omitted(len(raw))
	}
	type part struct {
		node string // "" for a top-level key
		key  string
		size int
	}
	var nodes map[string]json.RawMessage
	var parts []part
	for k, v := range top {
		if k == "nodes" && json.Unmarshal(v, &nodes) == nil {
			for id, out := range nodes {
				parts = append(parts, part{node: id, size: len(out)})
			}
			continue
		}
		parts = append(parts, part{key: k, size: len(v)})
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].size != parts[j].size {
			return parts[i].size > parts[j].size
		}
		return parts[i].node+parts[i].key < parts[j].node+parts[j].key
	})
	encode := func() json.RawMessage {
		if nodes != nil {
			b, _ := json.Marshal(nodes)
			top["nodes"] = b
		}
		b, _ := json.Marshal(top)
		return b
	}
	out := encode()
	for _, p := range parts {
		if len(out) <= max {
			break
		}
		if p.key != "" {
			top[p.key] = omitted(p.size)
		} else {
			nodes[p.node] = omitted(p.size)
		}
		out = encode()
	}
	if len(out) > max {
		return omitted(len(raw))
	}
	return out
}

func omitted(size int) json.RawMessage {
	b, _ := json.Marshal(fmt.Sprintf("(%d bytes, too large to show)", size))
	return b
}
