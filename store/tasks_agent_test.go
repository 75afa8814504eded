package store

import (
	"context"
	"errors"
	"testing"
)

// TestOpenCallTask: the oldest open task of one agent's tool calls, not another node's whose
// id shares the prefix, and none once they are closed.
func TestOpenCallTask(t *testing.T) {
	db := MustOpenTest(t)
	ctx := context.Background()
	for _, node := range []string{"agent_b/1/0", "agent/1/0", "agent/2/1", "agent0", "agent"} {
		if _, _, err := db.CreateTask(ctx, NewTask{RunID: "r1", NodeID: node, GraphID: "g", Version: 1, Title: node,
			Assignee: "group:finance", Outcomes: []string{"approve", "reject"}, Context: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.OpenCallTask(ctx, "r1", "agent")
	if err != nil || got.NodeID != "agent/1/0" {
		t.Fatalf("open call task = %+v, %v; want agent/1/0", got, err)
	}
	if err := db.CancelTask(ctx, "r1", "agent/1/0"); err != nil {
		t.Fatal(err)
	}
	if got, err = db.OpenCallTask(ctx, "r1", "agent"); err != nil || got.NodeID != "agent/2/1" {
		t.Fatalf("after the first closed = %+v, %v; want agent/2/1", got, err)
	}
	if err := db.CancelTask(ctx, "r1", "agent/2/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenCallTask(ctx, "r1", "agent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("none open = %v, want ErrNotFound", err)
	}
	if _, err := db.OpenCallTask(ctx, "r2", "agent_b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another run = %v", err)
	}
}
