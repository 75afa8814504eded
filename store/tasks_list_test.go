package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// titles lists the titles of a page, which the tests use as names.
func titles(p TaskPage) []string {
	out := []string{}
	for _, t := range p.Tasks {
		out = append(out, t.Title)
	}
	return out
}

func TestListTasksViews(t *testing.T) {
	ctx := context.Background()
	db, clock := newTaskStore(t)
	ann := taskUser("ann", "finance", "legal")
	add := func(name, assignee, graph string, due *time.Time) *Task {
		in := newTask("run-"+name, "review", assignee)
		in.Title, in.GraphID, in.DueAt = name, graph, due
		clock.Advance(time.Second)
		return mustCreate(t, db, in)
	}
	past, future := clock.t.Add(30*time.Minute), clock.t.Add(48*time.Hour)
	add("ann-direct", "user:ann", "refund", nil)
	add("ann-overdue", "user:ann", "refund", &past)
	claimed := add("finance-claimed-by-ann", "group:finance", "refund", &future)
	bobs := add("finance-claimed-by-bob", "group:finance", "invoice", nil)
	add("finance-free", "group:finance", "invoice", &past)
	add("legal-free", "group:legal", "refund", nil)
	add("ops-free", "group:ops", "refund", nil)
	add("bob-direct", "user:bob", "refund", nil)
	decidedByAnn := add("ops-decided-by-ann", "group:ops", "refund", nil)
	doneFinance := add("finance-done", "group:finance", "refund", nil)
	add("cancelled-ann", "user:ann", "refund", nil)
	clock.Advance(time.Hour) // the first deadline has passed

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.ClaimTask(ctx, claimed.ID, ann))
	must(db.ClaimTask(ctx, bobs.ID, taskUser("bob", "finance")))
	must(db.CloseTask(ctx, decidedByAnn.RunID, "review", TaskDecision{Outcome: "approve", DecidedBy: "ann"}))
	must(db.CloseTask(ctx, doneFinance.RunID, "review", TaskDecision{Outcome: "reject", DecidedBy: "bob"}))
	must(db.CancelTask(ctx, "run-cancelled-ann", "review"))

	tests := []struct {
		name string
		f    TaskFilter
		want []string
	}{
		{"mine", TaskFilter{View: TaskViewMine}, []string{"finance-claimed-by-ann", "ann-overdue", "ann-direct"}},
		{"groups leave out my claims", TaskFilter{View: TaskViewGroups}, []string{"legal-free", "finance-free", "finance-claimed-by-bob"}},
		{"open", TaskFilter{View: TaskViewOpen}, []string{"legal-free", "finance-free", "finance-claimed-by-bob", "finance-claimed-by-ann", "ann-overdue", "ann-direct"}},
		{"done", TaskFilter{View: TaskViewDone}, []string{"cancelled-ann", "finance-done", "ops-decided-by-ann"}},
		{"done mine", TaskFilter{View: TaskViewDoneMine}, []string{"cancelled-ann", "ops-decided-by-ann"}},
		{"graph", TaskFilter{View: TaskViewOpen, Graph: "invoice"}, []string{"finance-free", "finance-claimed-by-bob"}},
		{"overdue", TaskFilter{View: TaskViewOpen, Overdue: true}, []string{"finance-free", "ann-overdue"}},
		{"overdue and graph", TaskFilter{View: TaskViewMine, Overdue: true, Graph: "invoice"}, []string{}},
		{"overdue done is empty", TaskFilter{View: TaskViewDone, Overdue: true}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.User = ann
			p, err := db.ListTasks(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(p); !slices.Equal(got, tt.want) || p.Next != "" {
				t.Errorf("got %v (next %q), want %v", got, p.Next, tt.want)
			}
		})
	}
	counts, err := db.CountOpen(ctx, ann)
	if err != nil || counts != (TaskCounts{Mine: 3, Groups: 3}) || counts.Total() != 6 {
		t.Errorf("CountOpen = %+v, %v; want 3 mine and 3 in groups", counts, err)
	}
	loner := taskUser("zed")
	if p, err := db.ListTasks(ctx, TaskFilter{User: loner, View: TaskViewGroups}); err != nil || len(p.Tasks) != 0 {
		t.Errorf("groups of a user without groups = %v, %v", titles(p), err)
	}
	if _, err := db.ListTasks(ctx, TaskFilter{User: ann, View: "everything"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown view = %v", err)
	}
	if _, err := db.ListTasks(ctx, TaskFilter{View: TaskViewMine}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no user = %v", err)
	}
	for _, bad := range []string{"x", "1.", ".1", "zz.0", "1.2.3"} {
		if _, err := db.ListTasks(ctx, TaskFilter{User: ann, After: bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("cursor %q = %v, want ErrInvalid", bad, err)
		}
	}
	// The summary carries what a list row shows.
	p, _ := db.ListTasks(ctx, TaskFilter{User: ann, View: TaskViewDone})
	d := p.Tasks[1]
	if outcome, by, at := d.Decided(); outcome != "reject" || by != "bob" || at == nil || d.State != TaskDone || d.GraphID != "refund" || d.Version != 1 {
		t.Errorf("done summary = %+v", d)
	}
}

func TestListTasksPages(t *testing.T) {
	ctx := context.Background()
	db, clock := newTaskStore(t)
	var in []NewTask
	for i := range 125 {
		n := newTask(fmt.Sprintf("run-%03d", i), "review", "user:ann")
		n.Title = fmt.Sprintf("t%03d", i)
		// Pairs share a creation time, so the id breaks ties.
		n.CreatedAt = clock.t.Add(time.Duration(i/2) * time.Second)
		in = append(in, n)
	}
	if n, err := db.CreateTasks(ctx, in); err != nil || n != 125 {
		t.Fatalf("CreateTasks = %d, %v", n, err)
	}
	if n, err := db.CreateTasks(ctx, in[:10]); err != nil || n != 0 {
		t.Fatalf("CreateTasks again = %d, %v; want none new", n, err)
	}
	var seen []string
	f := TaskFilter{User: taskUser("ann"), View: TaskViewMine, Limit: 50}
	pages := 0
	for {
		p, err := db.ListTasks(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen = append(seen, titles(p)...)
		if p.Next == "" {
			break
		}
		f.After = p.Next
	}
	want := make([]string, 125)
	for i := range want {
		want[i] = fmt.Sprintf("t%03d", 124-i)
	}
	if pages != 3 || !slices.Equal(seen, want) {
		t.Errorf("%d pages: %v", pages, seen)
	}
	// An exact multiple of the page size ends without an empty page.
	p, err := db.ListTasks(ctx, TaskFilter{User: taskUser("ann"), Limit: 125})
	if err != nil || len(p.Tasks) != 125 || p.Next != "" {
		t.Errorf("one page of 125: %d tasks, next %q, %v", len(p.Tasks), p.Next, err)
	}
}

// seedInbox fills db with n tasks spread over 500 users, 40 groups and 20 graphs, a fifth of
// them done, and returns a user with groups.
func seedInbox(tb testing.TB, db *DB, n int) *User {
	tb.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]NewTask, 0, 5000)
	flush := func() {
		if _, err := db.CreateTasks(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		assignee := fmt.Sprintf("user:u%d", i%500)
		if i%2 == 0 {
			assignee = fmt.Sprintf("group:g%d", i%40)
		}
		in := newTask(fmt.Sprintf("run-%d", i), "review", assignee)
		in.GraphID = fmt.Sprintf("graph-%d", i%20)
		in.CreatedAt = start.Add(time.Duration(i) * time.Minute)
		if i%3 == 0 {
			due := in.CreatedAt.Add(24 * time.Hour)
			in.DueAt = &due
		}
		batch = append(batch, in)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	// Close a fifth through SQL: CloseTask per task would be a transaction each.
	if _, err := db.db.Exec(`UPDATE tasks SET state = 'done', outcome = 'approve', decided_by = 'u7', decided_at = created_at WHERE id % 5 = 0`); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.db.Exec(`ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	return taskUser("u7", "g0", "g2", "g4", "g6")
}

// TestListTasksUsesIndexesAt100k checks SQLite's plan for every view and filter on a store of
// 100,000 tasks: each arm is a seek on a covering index read in order, nothing scans the
// table, and only the merge of at most a page per arm sorts.
func TestListTasksUsesIndexesAt100k(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 100,000 tasks")
	}
	ctx := context.Background()
	db, _ := newTaskStore(t)
	u := seedInbox(t, db, 100_000)
	first, err := db.ListTasks(ctx, TaskFilter{User: u, View: TaskViewOpen})
	if err != nil || len(first.Tasks) != DefaultTaskPageSize || first.Next == "" {
		t.Fatalf("first page: %d tasks, next %q, %v", len(first.Tasks), first.Next, err)
	}
	for _, view := range []TaskView{TaskViewMine, TaskViewGroups, TaskViewOpen, TaskViewDone, TaskViewDoneMine} {
		for _, f := range []TaskFilter{{}, {Graph: "graph-4"}, {Overdue: true}, {After: first.Next}, {Graph: "graph-2", After: first.Next}} {
			f.User, f.View = u, view
			name := fmt.Sprintf("%s graph=%q overdue=%v after=%v", view, f.Graph, f.Overdue, f.After != "")
			plan, err := db.explainListTasks(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			searches, inArm := 0, false
			for _, line := range plan {
				switch {
				case strings.HasPrefix(line, "SCAN t ") || line == "SCAN t" || strings.HasPrefix(line, "SCAN tasks"):
					t.Errorf("%s: table scan %q\n%s", name, line, strings.Join(plan, "\n"))
				case strings.HasPrefix(line, "CO-ROUTINE"):
					inArm = true
				case strings.HasPrefix(line, "SCAN (subquery"):
					inArm = false
				case strings.HasPrefix(line, "SEARCH tasks USING COVERING INDEX"):
					searches++
				case strings.Contains(line, "TEMP B-TREE") && inArm:
					// Sorting outside an arm handles at most a page per arm; inside, all its rows.
					t.Errorf("%s: an arm sorts: %q\n%s", name, line, strings.Join(plan, "\n"))
				}
			}
			arms, _ := taskArms(u, view)
			if searches != len(arms) {
				t.Errorf("%s: %d covering index searches for %d arms\n%s", name, searches, len(arms), strings.Join(plan, "\n"))
			}
		}
	}
}

// BenchmarkListTasks100k is one inbox page of a user with groups in a store of 100,000 tasks.
func BenchmarkListTasks100k(b *testing.B) {
	ctx := context.Background()
	db, _ := newTaskStore(b)
	u := seedInbox(b, db, 100_000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.ListTasks(ctx, TaskFilter{User: u, View: TaskViewOpen}); err != nil {
			b.Fatal(err)
		}
	}
}
