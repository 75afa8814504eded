package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"trellis/actions"
	"trellis/designer"
	"trellis/store"
	"trellis/store/storetest"
)

// sumDoc is a graph with an input schema and one transform.
const sumDoc = `{"format": "trellis.graph/v1", "name": "Sum",
  "input": {"type": "object", "required": ["a"], "properties": {"a": {"type": "number"}, "b": {"type": "number", "default": 2}}},
  "nodes": [{"id": "sum", "kind": "transform", "config": {"value": "input.a + input.b"}}], "edges": []}`

// parentDoc runs graph "child" as a subgraph, on its latest version.
const parentDoc = `{"format": "trellis.graph/v1", "name": "Parent",
  "nodes": [{"id": "call", "kind": "subgraph", "config": {"graph": "child", "version": "latest", "input": "{ a: 1 }"}}], "edges": []}`

// refusal is err as a refused action of kind, or a test failure.
func refusal(t *testing.T, err error, kind actions.Kind) *actions.Error {
	t.Helper()
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Kind != kind {
		t.Fatalf("error = %v, want a refusal of kind %d", err, kind)
	}
	return ae
}

func newGraph(t *testing.T, db *store.DB, id, doc string) *store.Graph {
	t.Helper()
	g, err := db.CreateGraphWithID(context.Background(), id, id, json.RawMessage(doc), "ana")
	if err != nil {
		t.Fatalf("create graph %s: %v", id, err)
	}
	return g
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	a := actions.New(db, db, nil, nil)
	g := newGraph(t, db, "sum", sumDoc)

	refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "sum", Revision: g.DraftRevision + 1})), actions.Conflict)
	if err := errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "no-such"})); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("publishing an unknown graph: %v, want store.ErrNotFound", err)
	}
	refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "Not An Id"})), actions.NotFound)

	v, err := a.Publish(ctx, actions.PublishRequest{GraphID: "sum", Note: "  first  ", Revision: g.DraftRevision, Author: "ana"})
	if err != nil || v.Version != 1 || v.Note != "first" || v.Author != "ana" {
		t.Fatalf("Publish = %+v, %v; want version 1 by ana, note trimmed", v, err)
	}
	again := refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "sum"})), actions.Conflict)
	if !strings.Contains(again.Message, "No changes since version 1") {
		t.Errorf("republishing says %q", again.Message)
	}

	bad := newGraph(t, db, "bad", `{"format": "trellis.graph/v1", "nodes": [{"id": "x", "kind": "transform", "config": {"value": "nodes.nope"}}], "edges": []}`)
	probs := refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: bad.ID})), actions.Invalid)
	if len(probs.Graph) == 0 || probs.Graph[0].Node != "x" {
		t.Errorf("an invalid draft's problems = %+v, want one on node x", probs.Graph)
	}
}

// TestPublishPinsSubgraphs: "latest" becomes the subgraph's version number, and a subgraph
// with no version refuses the publish.
func TestPublishPinsSubgraphs(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	a := actions.New(db, db, nil, nil)
	newGraph(t, db, "child", sumDoc)
	newGraph(t, db, "parent", parentDoc)

	unpinned := refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "parent"})), actions.Invalid)
	if len(unpinned.Graph) != 1 || unpinned.Graph[0].Field != "config.version" {
		t.Fatalf("problems = %+v, want one on config.version", unpinned.Graph)
	}
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "child"}); err != nil {
		t.Fatal(err)
	}
	v, err := a.Publish(ctx, actions.PublishRequest{GraphID: "parent"})
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := designer.Parse(v.Definition, actions.GraphLimits)
	if err != nil {
		t.Fatal(err)
	}
	var cfg designer.SubgraphConfig
	if err := json.Unmarshal(g.Nodes[0].Config, &cfg); err != nil || string(cfg.Version) != "1" {
		t.Errorf("published subgraph config = %s, want version 1", g.Nodes[0].Config)
	}
	if h, _ := designer.Hash(g); h != v.Hash {
		t.Errorf("version hash %s is not the hash of its definition (%s)", v.Hash, h)
	}
}

// TestActionsWithoutEngine: starting and deciding say the engine is missing; nothing else
// is tried.
func TestActionsWithoutEngine(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	a := actions.New(db, db, nil, nil)
	newGraph(t, db, "sum", sumDoc)
	if _, err := a.Publish(ctx, actions.PublishRequest{GraphID: "sum"}); err != nil {
		t.Fatal(err)
	}
	refusal(t, errOf(a.StartRun(ctx, actions.StartRequest{GraphID: "sum", Input: map[string]any{"a": 1.0}})), actions.Unavailable)
	refusal(t, errOf(a.Rerun(ctx, "run-1", "ana")), actions.Unavailable)
	refusal(t, errOf(a.Decide(ctx, actions.DecideRequest{TaskID: "1", User: &store.User{Name: "bob"}})), actions.Unavailable)
	if a.HasEngine() {
		t.Error("HasEngine without an engine")
	}
}

// errOf drops a result to keep only the error.
func errOf[T any](_ T, err error) error { return err }
