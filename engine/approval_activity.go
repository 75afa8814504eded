package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// TaskStore keeps the tasks of approval nodes where reviewers find them (the store, through
// an adapter in cmd). Each method is idempotent per (run, node), since activities retry.
// OpenTask returns an error wrapping ErrBadTask for a task that can never be stored (the
// node then fails without retrying); any other error is retried.
type TaskStore interface {
	// OpenTask creates the task, or returns the id of the one created before.
	OpenTask(ctx context.Context, t NewTask) (taskID string, err error)
	// Escalate reassigns an open task with a new due time, and drops its claim.
	Escalate(ctx context.Context, runID, nodeID, assignee string, due *time.Time) error
	// RecordDecision closes the task with the decision; a closed task keeps its first one.
	RecordDecision(ctx context.Context, runID, nodeID string, d TaskDecision) error
	// CancelTask closes an open task without a decision when its run stops.
	CancelTask(ctx context.Context, runID, nodeID string) error
}

// ErrBadTask is wrapped by TaskStore implementations for a task they refuse.
var ErrBadTask = errors.New("task refused")

// NewTask is an approval node's task, its templates rendered: the one type the store
// keeps too.
type NewTask = designer.NewTask

// TaskDecision is how an approval was decided; DecidedBy is SystemActor for the due rule.
type TaskDecision struct {
	Outcome   string         `json:"outcome"`
	Data      map[string]any `json:"data"`
	Comment   string         `json:"comment"`
	DecidedBy string         `json:"decided_by"`
	DecidedAt time.Time      `json:"decided_at"`
}

// SystemActor decides approvals by their on_due rule.
const SystemActor = "system"

// Error type of approval nodes' own failures (a bad assignee, no task store).
const ErrTypeApproval = "ApprovalError"

// Activities of approval nodes.
const (
	activityApprovalOpen     = "approval.open"
	activityApprovalEscalate = "approval.escalate"
	activityApprovalDecided  = "approval.decided"
	activityApprovalCancel   = "approval.cancel"
)

// maxTaskContextBytes bounds the context handed to a task, so that its activity input stays
// far below Temporal's event size limit whatever the upstream outputs hold.
const maxTaskContextBytes = 64 << 10

func init() {
	registerStoreActivity(activityApprovalOpen, func(d *Deps) any { return (&approvalActivities{tasks: d.Tasks}).open })
	registerStoreActivity(activityApprovalEscalate, func(d *Deps) any { return (&approvalActivities{tasks: d.Tasks}).escalate })
	registerStoreActivity(activityApprovalDecided, func(d *Deps) any { return (&approvalActivities{tasks: d.Tasks}).decided })
	registerStoreActivity(activityApprovalCancel, func(d *Deps) any { return (&approvalActivities{tasks: d.Tasks}).cancel })
}

// openRequest is the open activity's input: the templates as written, the part of the
// scope they read, and what the workflow already knows.
type openRequest struct {
	Task         NewTask        `json:"task"`
	Title        string         `json:"title_template"`
	Instructions string         `json:"instructions_template"`
	Assignee     string         `json:"assignee_template"`
	Scope        map[string]any `json:"scope"`
}

// openedTask is what the workflow needs back: the task, and the assignee as rendered.
type openedTask struct {
	TaskID   string `json:"task_id"`
	Assignee string `json:"assignee"`
}

type escalateRequest struct {
	RunID    string     `json:"run_id"`
	NodeID   string     `json:"node_id"`
	Assignee string     `json:"assignee"`
	DueAt    *time.Time `json:"due_at,omitempty"`
}

type decidedRequest struct {
	RunID    string       `json:"run_id"`
	NodeID   string       `json:"node_id"`
	Decision TaskDecision `json:"decision"`
}

type approvalActivities struct{ tasks TaskStore }

// assigneePattern is user:NAME or group:NAME with a name as user and group names are.
var assigneePattern = regexp.MustCompile(`^(user|group):[a-z0-9][a-z0-9._-]{0,63}$`)

func (a *approvalActivities) store(ctx context.Context) (TaskStore, error) {
	if a.tasks == nil {
		return nil, activityFailure(ctx, ErrTypeApproval, false, "this worker has no task store, so approval nodes cannot run")
	}
	return a.tasks, nil
}

// open renders the title, instructions and assignee and stores the task.
func (a *approvalActivities) open(ctx context.Context, req openRequest) (activityResult[openedTask], error) {
	var zero activityResult[openedTask]
	tasks, err := a.store(ctx)
	if err != nil {
		return zero, err
	}
	t, errType, err := renderTask(req)
	if err != nil {
		return zero, activityFailure(ctx, errType, false, "%s", err)
	}
	id, err := tasks.OpenTask(ctx, t)
	if errors.Is(err, ErrBadTask) {
		return zero, activityFailure(ctx, ErrTypeApproval, false, "open task: %v", err)
	}
	if err != nil {
		return zero, activityFailure(ctx, ErrTypeApproval, true, "open task: %v", err)
	}
	return resultOf(ctx, openedTask{TaskID: id, Assignee: t.Assignee}), nil
}

// renderTask is the task as the open activity stores it: req's templates rendered with its
// scope. A field that does not render is an error of type errType. trellis doctor rebuilds
// a lost task from the request in the run's history with it.
func renderTask(req openRequest) (t NewTask, errType string, err error) {
	render := func(field, src string) (string, error) {
		t, err := designer.CompileTemplate(src)
		if err == nil {
			var s string
			if s, err = t.Render(req.Scope); err == nil {
				return s, nil
			}
		}
		return "", errors.New(fieldErr(field, err))
	}
	t = req.Task
	if t.Title, err = render("title", req.Title); err != nil {
		return t, ErrTypeTemplate, err
	}
	if t.Instructions, err = render("instructions", req.Instructions); err != nil {
		return t, ErrTypeTemplate, err
	}
	if t.Assignee, err = render("assignee", req.Assignee); err != nil {
		return t, ErrTypeTemplate, err
	}
	t.Assignee = strings.TrimSpace(t.Assignee)
	if !assigneePattern.MatchString(t.Assignee) {
		return t, ErrTypeApproval, fmt.Errorf("field assignee: %q is not user:NAME or group:NAME", clip(t.Assignee, 80))
	}
	return t, "", nil
}

func (a *approvalActivities) escalate(ctx context.Context, req escalateRequest) error {
	tasks, err := a.store(ctx)
	if err != nil {
		return err
	}
	if err := tasks.Escalate(ctx, req.RunID, req.NodeID, req.Assignee, req.DueAt); err != nil {
		return activityFailure(ctx, ErrTypeApproval, true, "escalate task: %v", err)
	}
	return nil
}

func (a *approvalActivities) decided(ctx context.Context, req decidedRequest) error {
	tasks, err := a.store(ctx)
	if err != nil {
		return err
	}
	if err := tasks.RecordDecision(ctx, req.RunID, req.NodeID, req.Decision); err != nil {
		return activityFailure(ctx, ErrTypeApproval, true, "record decision: %v", err)
	}
	return nil
}

func (a *approvalActivities) cancel(ctx context.Context, req escalateRequest) error {
	tasks, err := a.store(ctx)
	if err != nil {
		return err
	}
	if err := tasks.CancelTask(ctx, req.RunID, req.NodeID); err != nil {
		return activityFailure(ctx, ErrTypeApproval, true, "cancel task: %v", err)
	}
	return nil
}

// taskActivityOptions are for the task bookkeeping: the store is ours and local, so a
// failure is a lock or a full disk, worth retrying until it works rather than failing a run
// that waited days for a person. The activity id is the node id, so retries show on it. The
// tasks are written where reviewers read them: on the store queue.
func taskActivityOptions(ctx workflow.Context, nodeID string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           storeQueue(ctx),
		ActivityID:          nodeID,
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute},
		Summary: nodeID,
	})
}

// taskContext is the run input and the outputs of every completed node upstream of node i,
// bounded to maxTaskContextBytes: the largest parts are replaced by a note of their size.
func taskContext(x *nodeExec) json.RawMessage {
	p := x.r.plan
	seen := make([]bool, len(p.nodes))
	stack := []int{x.idx}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, ei := range p.in[n] {
			if f := p.edges[ei].from; !seen[f] {
				seen[f] = true
				stack = append(stack, f)
			}
		}
	}
	parts := map[string]json.RawMessage{}
	for i := range p.nodes {
		if seen[i] && x.r.nodes[i].Status == NodeCompleted {
			b, err := json.Marshal(x.r.nodes[i].Output)
			if err != nil {
				b, _ = json.Marshal(fmt.Sprintf("(cannot show: %v)", err))
			}
			parts[p.nodes[i].node.ID] = b
		}
	}
	input, err := json.Marshal(x.r.in.Input)
	if err != nil {
		input = json.RawMessage(`null`)
	}
	return boundContext(input, parts, maxTaskContextBytes)
}

// boundContext encodes {"input", "nodes"}, replacing the largest parts by a note until it
// fits in max bytes. Sizes and ids decide the order, so it is deterministic.
func boundContext(input json.RawMessage, nodes map[string]json.RawMessage, max int) json.RawMessage {
	type part struct {
		id   string // "" for the input
		size int
	}
	parts := []part{{size: len(input)}}
	total := len(input) + 32
	for id, b := range nodes {
		parts = append(parts, part{id: id, size: len(b)})
		total += len(b) + len(id) + 4
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].size != parts[j].size {
			return parts[i].size > parts[j].size
		}
		return parts[i].id < parts[j].id
	})
	for _, p := range parts {
		if total <= max {
			break
		}
		note, _ := json.Marshal(fmt.Sprintf("(%d bytes, too large to show)", p.size))
		if p.id == "" {
			input = note
		} else {
			nodes[p.id] = note
		}
		total -= p.size - len(note)
	}
	b, err := json.Marshal(map[string]any{"input": input, "nodes": nodes})
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
