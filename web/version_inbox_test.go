package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"trellis/store"
)

// TestInboxVersionFilter: the inbox keeps the tasks of runs on one version when asked.
func TestInboxVersionFilter(t *testing.T) {
	app, _ := newTaskApp(t, false)
	app.member("bob", "finance")
	onTwo := app.addTask("run-a", "group:finance", 0)
	in := store.NewTask{RunID: "run-b", NodeID: "review", GraphID: "refund", Version: 3, Title: "On three",
		Assignee: "group:finance", Outcomes: []string{"approve"}, Context: []byte(`{}`)}
	onThree, _, err := app.DB.CreateTask(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	bob := app.memberClient("bob", "finance")
	all := bob.get("/inbox")
	wantStatus(t, all, http.StatusOK)
	if !strings.Contains(all.Body, onTwo.Title) || !strings.Contains(all.Body, onThree.Title) {
		t.Fatalf("the whole inbox lacks a task")
	}
	three := bob.get("/inbox?version=3")
	wantStatus(t, three, http.StatusOK)
	if strings.Contains(three.Body, onTwo.Title) || !strings.Contains(three.Body, onThree.Title) || !strings.Contains(three.Body, `value="3"`) {
		t.Fatalf("inbox?version=3:\n%s", three.Body)
	}
	wantStatus(t, bob.get("/inbox?version=latest"), http.StatusBadRequest)
}
