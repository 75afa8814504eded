package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"trellis/store/storetest"
)

// TestRunDraftsListedApart: a draft test run runs like any other, but lists, counts and
// version filters leave it out unless asked for draft runs.
func TestRunDraftsListedApart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	cl := startCluster(t, t.TempDir(), Deps{})
	g := mustGraph(t, `{"nodes": [{"id": "hello", "kind": "transform", "config": {"value": "'hi ' + input.name"}}], "edges": []}`)
	pub, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "greet", Version: 1, Definition: g, Input: map[string]any{"name": "ann"}, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	draft, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "greet", Version: 3, Draft: true, Definition: g,
		Input: map[string]any{"name": "bo"}, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(draft, "draft-") || !strings.HasPrefix(pub, "run-") {
		t.Errorf("run ids %q and %q, want run- and draft-", pub, draft)
	}
	r := waitRun(t, cl.eng, draft, "completed", ended)
	if !r.Draft || r.Version != 0 || r.Status != RunCompleted || toJSON(r.Output) != `{"hello":"hi bo"}` {
		t.Errorf("draft run = %s", toJSON(r))
	}
	if r := waitRun(t, cl.eng, pub, "completed", ended); r.Draft || r.Version != 1 {
		t.Errorf("run of v1 = %s", toJSON(r))
	}

	var drafts []RunSummary
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		drafts, _, err = cl.eng.ListRuns(ctx, RunFilter{GraphID: "greet", Drafts: true})
		if err == nil && len(drafts) == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || len(drafts) != 1 || drafts[0].RunID != draft || !drafts[0].Draft || drafts[0].Version != 0 {
		t.Fatalf("draft runs = %s, %v", toJSON(drafts), err)
	}
	for _, f := range []RunFilter{{}, {GraphID: "greet"}, {GraphID: "greet", Version: 1}, {Status: RunCompleted}} {
		rows, _, err := cl.eng.ListRuns(ctx, f)
		if err != nil || len(rows) != 1 || rows[0].RunID != pub || rows[0].Draft {
			t.Errorf("ListRuns(%+v) = %s, %v; want only the run of v1", f, toJSON(rows), err)
		}
	}
	if n, err := cl.eng.CountRuns(ctx, "greet"); err != nil || n != 1 {
		t.Errorf("CountRuns = %d, %v; want 1 (the draft run does not count)", n, err)
	}
	if _, _, err := cl.eng.ListRuns(ctx, RunFilter{Drafts: true, Version: 2}); !errors.Is(err, ErrBadFilter) {
		t.Errorf("drafts of a version: %v, want ErrBadFilter", err)
	}
	// Version 0 is the draft marker, so a run of a version must name one.
	if _, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "greet", Definition: g}); err == nil ||
		!strings.Contains(err.Error(), "published version") {
		t.Errorf("run of version 0 without Draft: %v", err)
	}
}

// TestTimelineDueTimerEndsAtDecision: an approval's due timer stays pending in the workflow
// after the decision, but its bar ends with the wait for the person, while the run goes on.
func TestTimelineDueTimerEndsAtDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	ctx := context.Background()
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Tasks: storeTasks{db}})
	g := mustGraph(t, `{"nodes": [{"id": "review", "kind": "approval", "config": {"title": "Check it", "assignee": "user:ann", "due": "1h"}},
		{"id": "later", "kind": "wait", "config": {"duration": "1h"}}],
	  "edges": [{"from": "review", "to": "later", "port": "approve"}]}`)
	id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "due", Version: 1, Definition: g, StartedBy: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.eng.CancelRun(context.Background(), id, "test over") })
	waitRun(t, cl.eng, id, "waiting", func(r *Run) bool { return r.Status == RunWaiting })
	if err := cl.eng.Decide(ctx, id, "review", Decision{Outcome: "approve", By: "ann"}); err != nil {
		t.Fatal(err)
	}
	waitRun(t, cl.eng, id, "the next wait", func(r *Run) bool { return r.Nodes["later"].Status == NodeRunning })
	tl, err := cl.eng.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	waits, timers := entriesOf(tl, "review", StepPerson), entriesOf(tl, "review", StepTimer)
	if tl.EndedAt != nil || len(waits) != 1 || waits[0].EndedAt == nil || len(timers) != 1 {
		t.Fatalf("timeline = %s", toJSON(tl))
	}
	if tm := timers[0]; tm.Status != NodeCancelled || tm.EndedAt == nil || !tm.EndedAt.Equal(*waits[0].EndedAt) {
		t.Errorf("due timer = %s, want it ended with the wait at %s", toJSON(tm), waits[0].EndedAt)
	}
}
