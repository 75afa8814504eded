package store

import (
	"context"
	"testing"
	"time"
)

func TestCountOpenByGraph(t *testing.T) {
	db, clock := newTaskStore(t)
	ctx := context.Background()
	soon := clock.Now().Add(time.Hour)
	late := newTask("r1", "review", "user:ann")
	late.DueAt = &soon
	mustCreate(t, db, late)
	mustCreate(t, db, newTask("r2", "review", "user:ann"))
	other := newTask("r3", "review", "group:ops")
	other.GraphID = "contract"
	mustCreate(t, db, other)
	done := newTask("r4", "review", "user:ann")
	done.DueAt = &soon
	mustCreate(t, db, done)
	if err := db.CancelTask(ctx, "r4", "review"); err != nil {
		t.Fatal(err)
	}

	got, err := db.CountOpenByGraph(ctx, clock.Now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []OpenTasks{{GraphID: "contract", Open: 1}, {GraphID: "refund", Open: 2, Overdue: 1}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
	if got, _ := db.CountOpenByGraph(ctx, clock.Now()); got[1].Overdue != 0 {
		t.Errorf("before the due time: %+v, want none overdue", got[1])
	}
}
