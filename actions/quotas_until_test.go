package actions_test

import (
	"context"
	"testing"
	"time"

	"trellis/actions"
)

// TestRunQuotasWaitUntil: a wait whose until is known when the run starts (a constant, or
// read from the input) and lies further ahead than --max-wait is refused then, with a 422
// naming the node; one that reads other nodes is left to the run (engine TestWaitUntilCapped).
func TestRunQuotasWaitUntil(t *testing.T) {
	ctx := context.Background()
	a, db, _ := newEngineActions(t)
	a.SetQuotas(actions.Quotas{MaxWait: 24 * time.Hour})
	far := time.Now().AddDate(100, 0, 0).UTC().Format(time.RFC3339)
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for id, doc := range map[string]string{
		"fixed": `{"format": "trellis.graph/v1", "name": "Fixed",
		  "nodes": [{"id": "nap", "kind": "wait", "config": {"until": "\"` + far + `\""}}], "edges": []}`,
		"from-input": `{"format": "trellis.graph/v1", "name": "From input",
		  "nodes": [{"id": "nap", "kind": "wait", "config": {"until": "input.at"}}], "edges": []}`,
		"from-node": `{"format": "trellis.graph/v1", "name": "From node",
		  "nodes": [{"id": "when", "kind": "transform", "config": {"value": "input.at"}},
		            {"id": "nap", "kind": "wait", "config": {"until": "nodes.when.output"}}],
		  "edges": [{"from": "when", "to": "nap"}]}`,
	} {
		newGraph(t, db, id, doc)
		if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: id}); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	for _, c := range []struct {
		graph, at string
		refused   bool
	}{{"fixed", far, true}, {"from-input", far, true}, {"from-input", soon, false}, {"from-node", far, false}} {
		_, err := a.StartRun(ctx, actions.StartRequest{GraphID: c.graph, Input: map[string]any{"at": c.at}, By: "carl"})
		if !c.refused {
			if err != nil {
				t.Errorf("%s until %s: %v", c.graph, c.at, err)
			}
			continue
		}
		e := refusal(t, err, actions.Invalid)
		if len(e.Graph) != 1 || e.Graph[0].Node != "nap" || e.Graph[0].Field != "config.until" {
			t.Errorf("%s until %s: problems %+v", c.graph, c.at, e.Graph)
		}
	}
}
