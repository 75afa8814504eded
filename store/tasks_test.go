package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// taskClock is a settable clock for task tests.
type taskClock struct{ t time.Time }

func (c *taskClock) Now() time.Time          { return c.t }
func (c *taskClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newTaskStore(tb testing.TB) (*DB, *taskClock) {
	tb.Helper()
	clock := &taskClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	return MustOpenTestWith(tb, Options{Now: clock.Now}), clock
}

func taskUser(name string, groups ...string) *User {
	return &User{Name: name, Roles: []string{RoleReviewer}, Groups: groups}
}

func newTask(run, node, assignee string) NewTask {
	return NewTask{RunID: run, NodeID: node, GraphID: "refund", Version: 1, Title: "Review " + run,
		Instructions: "Check the **amount**.", Assignee: assignee, Outcomes: []string{"approve", "reject"},
		Form:    json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string"}}}`),
		Context: json.RawMessage(`{"input":{"amount":12},"nodes":{"classify":{"label":"refund"}}}`)}
}

func mustCreate(tb testing.TB, db *DB, in NewTask) *Task {
	tb.Helper()
	t, _, err := db.CreateTask(context.Background(), in)
	if err != nil {
		tb.Fatalf("create task %s/%s: %v", in.RunID, in.NodeID, err)
	}
	return t
}

func eventKinds(t *Task) []string {
	var out []string
	for _, e := range t.Events {
		out = append(out, e.Kind)
	}
	return out
}

func TestCreateTaskIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db, clock := newTaskStore(t)
	due := clock.t.Add(time.Hour)
	in := newTask("run-1", "review", "group:finance")
	in.DueAt = &due
	first, created, err := db.CreateTask(ctx, in)
	if err != nil || !created {
		t.Fatalf("first CreateTask = %v, created %v", err, created)
	}
	clock.Advance(time.Minute)
	in.Title = "Changed on retry"
	again, created, err := db.CreateTask(ctx, in)
	if err != nil || created {
		t.Fatalf("second CreateTask = %v, created %v; want the existing task", err, created)
	}
	if again.ID != first.ID || again.Title != "Review run-1" || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("retry gave %+v, want the first task %+v", again, first)
	}
	if got := eventKinds(again); !slices.Equal(got, []string{TaskEventCreated}) {
		t.Errorf("events = %v, want one created", got)
	}
	if again.State != TaskOpen || again.DueAt == nil || !again.DueAt.Equal(due) || again.Decision != nil ||
		!slices.Equal(again.Outcomes, []string{"approve", "reject"}) || string(again.Form) == "" {
		t.Errorf("task = %+v", again)
	}
	byNode, err := db.GetTaskByNode(ctx, "run-1", "review")
	if err != nil || byNode.ID != first.ID {
		t.Errorf("GetTaskByNode = %v, %v", byNode, err)
	}
	// Another node of the same run is another task.
	other := mustCreate(t, db, newTask("run-1", "second", "user:ann"))
	if other.ID == first.ID {
		t.Error("two nodes share a task")
	}
}

func TestCreateTaskRefusesBadInput(t *testing.T) {
	db, _ := newTaskStore(t)
	tests := []struct {
		name   string
		change func(*NewTask)
	}{
		{"no run", func(n *NewTask) { n.RunID = "" }},
		{"no node", func(n *NewTask) { n.NodeID = "" }},
		{"assignee without kind", func(n *NewTask) { n.Assignee = "ann" }},
		{"unknown assignee kind", func(n *NewTask) { n.Assignee = "team:ops" }},
		{"bad assignee name", func(n *NewTask) { n.Assignee = "user:Ann Smith" }},
		{"no outcomes", func(n *NewTask) { n.Outcomes = nil }},
		{"form not JSON", func(n *NewTask) { n.Form = json.RawMessage(`{"type":`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newTask("run-bad", "review", "user:ann")
			tt.change(&in)
			_, _, err := db.CreateTask(context.Background(), in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CreateTask = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := db.GetTask(context.Background(), "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused task was stored: %v", err)
	}
	for _, id := range []string{"", "0", "-1", "abc", "01", "99"} {
		if _, err := db.GetTask(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetTask(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestCreateTaskBoundsWhatItKeeps(t *testing.T) {
	db, _ := newTaskStore(t)
	big := strings.Repeat("x", 100<<10)
	in := newTask("run-big", "review", "user:ann")
	in.Title = strings.Repeat("T", 400)
	in.Instructions = strings.Repeat("é", 40<<10) // 80 KiB
	in.Context = json.RawMessage(fmt.Sprintf(`{"input":{"amount":12},"nodes":{"huge":{"text":%q},"small":{"ok":true}}}`, big))
	task := mustCreate(t, db, in)
	if n := len([]rune(task.Title)); n != MaxTaskTitleLength || !strings.HasSuffix(task.Title, "…") {
		t.Errorf("title has %d characters, want %d ending in …", n, MaxTaskTitleLength)
	}
	if len(task.Instructions) > MaxTaskInstructionsBytes || !strings.HasPrefix(task.Instructions, "éé") || !json.Valid([]byte(`"`+task.Instructions+`"`)) {
		t.Errorf("instructions are %d bytes", len(task.Instructions))
	}
	if len(task.Context) > MaxTaskContextBytes {
		t.Fatalf("context is %d bytes, want at most %d", len(task.Context), MaxTaskContextBytes)
	}
	var c struct {
		Input map[string]any `json:"input"`
		Nodes map[string]any `json:"nodes"`
	}
	if err := json.Unmarshal(task.Context, &c); err != nil {
		t.Fatalf("context is not JSON: %v", err)
	}
	if c.Input["amount"] != 12.0 || c.Nodes["small"] == nil || !strings.Contains(fmt.Sprint(c.Nodes["huge"]), "too large to show") {
		t.Errorf("context = %s", task.Context)
	}
	noCtx := newTask("run-noctx", "review", "user:ann")
	noCtx.Context, noCtx.Title = nil, "  "
	if task := mustCreate(t, db, noCtx); string(task.Context) != `{}` || task.Title != "review" {
		t.Errorf("empty context and title gave %s, %q", task.Context, task.Title)
	}
}

func TestClaimRules(t *testing.T) {
	ctx := context.Background()
	db, _ := newTaskStore(t)
	group := mustCreate(t, db, newTask("run-g", "review", "group:finance"))
	single := mustCreate(t, db, newTask("run-u", "review", "user:ann"))
	ann, bob, eve := taskUser("ann", "finance"), taskUser("bob", "finance"), taskUser("eve", "ops")
	admin := &User{Name: "root", Roles: []string{RoleAdmin}}
	steps := []struct {
		name    string
		do      func() error
		wantErr error
		claimed string
	}{
		{"a single-user task cannot be claimed", func() error { return db.ClaimTask(ctx, single.ID, ann) }, ErrForbidden, ""},
		{"outside the group", func() error { return db.ClaimTask(ctx, group.ID, eve) }, ErrForbidden, ""},
		{"unknown task", func() error { return db.ClaimTask(ctx, "4242", ann) }, ErrNotFound, ""},
		{"unclaim of an unclaimed task", func() error { return db.UnclaimTask(ctx, group.ID, ann) }, nil, ""},
		{"member claims", func() error { return db.ClaimTask(ctx, group.ID, ann) }, nil, "ann"},
		{"claiming again is fine", func() error { return db.ClaimTask(ctx, group.ID, ann) }, nil, "ann"},
		{"another member", func() error { return db.ClaimTask(ctx, group.ID, bob) }, ErrConflict, "ann"},
		{"another member cannot unclaim", func() error { return db.UnclaimTask(ctx, group.ID, bob) }, ErrForbidden, "ann"},
		{"claimer unclaims", func() error { return db.UnclaimTask(ctx, group.ID, ann) }, nil, ""},
		{"bob claims", func() error { return db.ClaimTask(ctx, group.ID, bob) }, nil, "bob"},
		{"an admin may unclaim", func() error { return db.UnclaimTask(ctx, group.ID, admin) }, nil, ""},
	}
	for _, st := range steps {
		err := st.do()
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		got, err := db.GetTask(ctx, group.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ClaimedBy != st.claimed {
			t.Fatalf("%s: claimed by %q, want %q", st.name, got.ClaimedBy, st.claimed)
		}
	}
	got, _ := db.GetTask(ctx, group.ID)
	want := []string{TaskEventCreated, TaskEventClaimed, TaskEventUnclaimed, TaskEventClaimed, TaskEventUnclaimed}
	if !slices.Equal(eventKinds(got), want) {
		t.Errorf("history = %v, want %v", eventKinds(got), want)
	}
	if err := db.ClaimTask(ctx, group.ID, bob); err != nil {
		t.Fatal(err)
	}
	if !got.AssignedTo(ann) || got.AssignedTo(eve) {
		t.Error("AssignedTo does not follow the group")
	}
	if err := db.CloseTask(ctx, "run-g", "review", TaskDecision{Outcome: "approve", DecidedBy: "bob"}); err != nil {
		t.Fatal(err)
	}
	err := db.ClaimTask(ctx, group.ID, ann)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "decided by bob") {
		t.Errorf("claim of a decided task = %v, want a conflict naming bob", err)
	}
}

func TestEscalateKeepsHistory(t *testing.T) {
	ctx := context.Background()
	db, clock := newTaskStore(t)
	due := clock.t.Add(time.Hour)
	in := newTask("run-e", "review", "group:finance")
	in.DueAt = &due
	task := mustCreate(t, db, in)
	if err := db.ClaimTask(ctx, task.ID, taskUser("ann", "finance")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	newDue := clock.t.Add(2 * time.Hour)
	for range 2 { // the second call is a retried activity
		if err := db.Escalate(ctx, "run-e", "review", "group:managers", &newDue); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.GetTask(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Assignee != "group:managers" || got.ClaimedBy != "" || got.DueAt == nil || !got.DueAt.Equal(newDue) {
		t.Errorf("after escalation: assignee %s, claimed by %q, due %v", got.Assignee, got.ClaimedBy, got.DueAt)
	}
	if want := []string{TaskEventCreated, TaskEventClaimed, TaskEventEscalated}; !slices.Equal(eventKinds(got), want) {
		t.Fatalf("history = %v, want %v", eventKinds(got), want)
	}
	esc := got.Events[2]
	if esc.From != "group:finance" || esc.To != "group:managers" || esc.DueAt == nil || !esc.DueAt.Equal(newDue) ||
		esc.Actor != SystemActor || !esc.At.Equal(clock.t) {
		t.Errorf("escalation event = %+v", esc)
	}
	// The old group can still read it; it is no longer theirs to decide.
	ann := taskUser("ann", "finance")
	if got.AssignedTo(ann) || !got.Involves(ann) || got.Involves(taskUser("eve", "ops")) {
		t.Error("Involves/AssignedTo after escalation are wrong")
	}
	if err := db.Escalate(ctx, "run-e", "review", "boss", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("escalate to a bad assignee = %v", err)
	}
	if err := db.Escalate(ctx, "run-x", "review", "user:ann", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("escalate unknown task = %v", err)
	}
	if err := db.CloseTask(ctx, "run-e", "review", TaskDecision{Outcome: "reject", DecidedBy: "carl"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Escalate(ctx, "run-e", "review", "user:zed", nil); err != nil {
		t.Errorf("late escalation of a closed task = %v, want it ignored", err)
	}
	if got, _ := db.GetTask(ctx, task.ID); got.Assignee != "group:managers" {
		t.Errorf("a closed task was escalated to %s", got.Assignee)
	}
}

func TestCloseTaskIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db, clock := newTaskStore(t)
	task := mustCreate(t, db, newTask("run-c", "review", "user:ann"))
	auto := mustCreate(t, db, newTask("run-a", "review", "user:ann"))
	at := clock.t.Add(5 * time.Minute)
	d := TaskDecision{Outcome: "approve", Data: json.RawMessage(`{"reason":"fine"}`), Comment: "ok", DecidedBy: "ann", DecidedAt: at}
	for range 2 {
		if err := db.CloseTask(ctx, "run-c", "review", d); err != nil {
			t.Fatal(err)
		}
	}
	// A different decision later does not replace the first.
	if err := db.CloseTask(ctx, "run-c", "review", TaskDecision{Outcome: "reject", DecidedBy: "bob"}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.GetTask(ctx, task.ID)
	if got.State != TaskDone || got.Decision == nil || got.Decision.Outcome != "approve" || got.Decision.DecidedBy != "ann" ||
		string(got.Decision.Data) != `{"reason":"fine"}` || got.Decision.Comment != "ok" || !got.Decision.DecidedAt.Equal(at) {
		t.Fatalf("task = %+v, decision %+v", got, got.Decision)
	}
	if want := []string{TaskEventCreated, TaskEventDecided}; !slices.Equal(eventKinds(got), want) {
		t.Errorf("history = %v, want %v", eventKinds(got), want)
	}
	if err := db.CloseTask(ctx, "run-a", "review", TaskDecision{Outcome: "reject", DecidedBy: SystemActor}); err != nil {
		t.Fatal(err)
	}
	got, _ = db.GetTask(ctx, auto.ID)
	if want := []string{TaskEventCreated, TaskEventAutoDecided}; !slices.Equal(eventKinds(got), want) || got.Decision.Data != nil {
		t.Errorf("auto decision: history %v, data %s", eventKinds(got), got.Decision.Data)
	}
	if err := db.CloseTask(ctx, "run-c", "review", TaskDecision{Data: json.RawMessage(`{`)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad data = %v", err)
	}
	cancelled := mustCreate(t, db, newTask("run-x", "review", "user:ann"))
	for range 2 {
		if err := db.CancelTask(ctx, "run-x", "review"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = db.GetTask(ctx, cancelled.ID)
	if got.State != TaskCancelled || got.Decision != nil || !slices.Equal(eventKinds(got), []string{TaskEventCreated, TaskEventCancelled}) {
		t.Errorf("cancelled task = %+v, history %v", got, eventKinds(got))
	}
	if err := db.CancelTask(ctx, "run-none", "review"); err != nil {
		t.Errorf("cancel of a missing task = %v", err)
	}
}
