package actions_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/actions"
)

// nested is {"a": {"a": … 1}} depth levels deep.
func nested(depth int) any {
	var v any = 1.0
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

// TestRunQuotas: issue 18's probe started 1,000 runs at 40/s as one analyst, started a run
// with input nested 9,000 deep, and a wait of 100 years. Each is refused now.
func TestRunQuotas(t *testing.T) {
	ctx := context.Background()
	a, db, _ := newEngineActions(t)
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a.SetQuotas(actions.Quotas{RunsPerMinute: 4, Now: clock})
	newGraph(t, db, "sum", sumDoc)
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "sum"}); err != nil {
		t.Fatal(err)
	}

	// Input depth: refused before anything walks it, whatever the schema says.
	for _, depth := range []int{actions.MaxInputDepth + 1, 9000} {
		in := map[string]any{"a": 1.0, "deep": nested(depth)}
		e := refusal(t, errOf(a.StartRun(ctx, actions.StartRequest{GraphID: "sum", Input: in, By: "ana"})), actions.Invalid)
		if !strings.Contains(e.Message, "nested more than 256 levels") {
			t.Errorf("depth %d: %q", depth, e.Message)
		}
	}

	// Rate: 4 a minute in bursts of 2, per user.
	start := func(by string) error {
		_, err := a.StartRun(ctx, actions.StartRequest{GraphID: "sum", Input: map[string]any{"a": 1.0}, By: by})
		return err
	}
	for i := range 2 {
		if err := start("ana"); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	e := refusal(t, start("ana"), actions.TooMany)
	if !strings.Contains(e.Message, "at most 4 a minute") {
		t.Errorf("rate refusal: %q", e.Message)
	}
	if err := start("bob"); err != nil {
		t.Fatalf("another user was limited: %v", err)
	}
	mu.Lock()
	now = now.Add(15 * time.Second) // one run's worth
	mu.Unlock()
	if err := start("ana"); err != nil {
		t.Fatalf("after the bucket refilled: %v", err)
	}
	refusal(t, start("ana"), actions.TooMany)

	// Waits: a literal duration over the cap is refused, naming the node.
	newGraph(t, db, "sleepy", `{"format": "trellis.graph/v1", "name": "Sleepy",
	  "nodes": [{"id": "nap", "kind": "wait", "config": {"duration": "876000h"}}], "edges": []}`)
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "sleepy"}); err != nil {
		t.Fatal(err)
	}
	e = refusal(t, errOf(a.StartRun(ctx, actions.StartRequest{GraphID: "sleepy", By: "carl"})), actions.Invalid)
	if len(e.Graph) != 1 || e.Graph[0].Node != "nap" || e.Graph[0].Field != "config.duration" {
		t.Errorf("wait refusal problems = %+v", e.Graph)
	}
	a.SetQuotas(actions.Quotas{MaxWait: 200 * 365 * 24 * time.Hour})
	if _, err := a.StartRun(ctx, actions.StartRequest{GraphID: "sleepy", By: "carl"}); err != nil {
		t.Fatalf("with a larger --max-wait: %v", err)
	}
}
