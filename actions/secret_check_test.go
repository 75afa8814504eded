package actions_test

import (
	"context"
	"strings"
	"testing"

	"trellis/actions"
	"trellis/store/storetest"
)

// TestPublishRefusesTransformedSecret: a secret may only be interpolated whole (issue 18).
func TestPublishRefusesTransformedSecret(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	a := actions.New(db, db, nil, nil)
	newGraph(t, db, "leaky", `{"format": "trellis.graph/v1", "name": "Leaky",
	  "nodes": [{"id": "call", "kind": "http", "config": {"url": "https://api.example.com/{{ int(lower(secrets.S1)) }}",
	    "headers": {"X-Key": "{{ secrets.S1 }}"}}}], "edges": []}`)
	e := refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "leaky"})), actions.Invalid)
	found := false
	for _, p := range e.Graph {
		if p.Node == "call" && p.Field == "config.url" && strings.Contains(p.Message, "interpolated whole") {
			found = true
		}
	}
	if !found {
		t.Fatalf("problems = %+v, want one on call's url saying a secret is interpolated whole", e.Graph)
	}
	newGraph(t, db, "fine", `{"format": "trellis.graph/v1", "name": "Fine",
	  "nodes": [{"id": "call", "kind": "http", "config": {"url": "https://api.example.com/x",
	    "headers": {"Authorization": "Bearer {{ secrets.S1 }}"}}}], "edges": []}`)
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "fine"}); err != nil {
		t.Fatalf("a whole interpolation was refused: %v", err)
	}
}
