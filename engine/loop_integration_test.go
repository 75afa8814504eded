package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"trellis/store"
	"trellis/store/storetest"
)

// exampleGraph reads one of the examples, kept beside designer's tests.
func exampleGraph(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../designer/testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplyUntilApprovedOnEmbeddedServer runs the example loop with an OpenAI-protocol
// provider answering "draft N": a reviewer asks for changes twice and then approves (three
// rounds, the third draft is the reply, each prompt carries the last feedback); in a second
// run four revisions exhaust the loop and the manager's task decides.
func TestReplyUntilApprovedOnEmbeddedServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	chat := newChatServer(t, func(n int, _ map[string]any) chatReply {
		return chatAnswer("gpt-test", fmt.Sprintf("draft %d", n), 10, 5)
	})
	body := mustGraph(t, exampleGraph(t, "draft-and-review"))
	db := storetest.MustOpen(t)
	cl := startCluster(t, t.TempDir(), Deps{Tasks: storeTasks{db}, Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
		Versions:  memVersions{"draft-and-review@0": body, "draft-and-review@1": body},
		Providers: defaultProviders(chat.URL)})
	ctx := context.Background()
	start := func() string {
		id, err := cl.eng.StartRun(ctx, StartRunRequest{GraphID: "reply-until-approved", Version: 1,
			Definition: mustGraph(t, exampleGraph(t, "reply-until-approved")),
			Input:      map[string]any{"customer": "Ada", "request": "Where is my parcel?"}, StartedBy: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	review := func(runID string, round int, outcome string) {
		t.Helper()
		child := fmt.Sprintf("%s.rounds.%d", runID, round)
		task := waitTask(t, db, child, "opens", isOpen)
		waitRun(t, cl.eng, child, "review waits", func(r *Run) bool { return r.Nodes["review"].Status == NodeWaiting })
		if want := fmt.Sprintf("Reply draft %d for Ada", round); task.Title != want {
			t.Errorf("round %d task title %q, want %q", round, task.Title, want)
		}
		if err := cl.eng.Decide(ctx, child, "review", Decision{Outcome: outcome,
			Data: map[string]any{"feedback": fmt.Sprintf("change %d", round)}, By: "rita", Groups: []string{"reviewers"}}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}

	approved := start()
	review(approved, 1, "revise")
	review(approved, 2, "revise")
	review(approved, 3, "approve")
	run := waitRun(t, cl.eng, approved, "ended", ended)
	if run.Status != RunCompleted || toJSON(run.Output) != `{"reply":"draft 3","rounds":3}` {
		t.Fatalf("run %s with %s, want the third draft after 3 rounds", run.Status, toJSON(run.Output))
	}
	if run.Nodes["rounds"].Port != "out" || run.Nodes["manager"].Status != NodeSkipped {
		t.Errorf("rounds left by %s, manager %s", run.Nodes["rounds"].Port, run.Nodes["manager"].Status)
	}
	reqs := chat.requests()
	if len(reqs) != 3 || !strings.Contains(toJSON(reqs[2].body), "Reviewer feedback: change 2") ||
		!strings.Contains(toJSON(reqs[2].body), "Previous draft: draft 2") {
		t.Errorf("%d prompts; the third is %s", len(reqs), toJSON(reqs[len(reqs)-1].body))
	}

	exhausted := start()
	for round := 1; round <= 4; round++ {
		review(exhausted, round, "revise")
	}
	var manager *store.Task
	deadline := time.Now().Add(90 * time.Second)
	for manager == nil && time.Now().Before(deadline) {
		if task, err := db.GetTaskByNode(ctx, exhausted, "manager"); err == nil && task.State == store.TaskOpen {
			manager = task
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if manager == nil || manager.Title != "No agreement after 4 drafts for Ada" {
		t.Fatalf("manager task = %+v", manager)
	}
	waitRun(t, cl.eng, exhausted, "manager waits", func(r *Run) bool { return r.Nodes["manager"].Status == NodeWaiting })
	if err := cl.eng.Decide(ctx, exhausted, "manager", Decision{Outcome: "send", By: "max", Groups: []string{"managers"}}); err != nil {
		t.Fatal(err)
	}
	run = waitRun(t, cl.eng, exhausted, "ended", ended)
	if run.Status != RunCompleted || toJSON(run.Output) != `{"reply":"draft 7","rounds":4}` || run.Nodes["rounds"].Port != "exhausted" {
		t.Fatalf("run %s with %s, rounds left by %s", run.Status, toJSON(run.Output), run.Nodes["rounds"].Port)
	}
}
