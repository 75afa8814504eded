package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// lateVersions gives the worker the versions of a store opened after the worker started.
type lateVersions struct{ db *store.DB }

func (l *lateVersions) VersionDefinition(ctx context.Context, graphID string, version int) (*designer.Graph, error) {
	return l.db.VersionDefinition(ctx, graphID, version)
}

const childGreetDoc = `{"format": "trellis.graph/v1", "nodes": [{"id": "hi", "kind": "transform", "position": {"x": 40, "y": 40}, "config": {"value": "'Hi ' + input.name"}}], "edges": []}`

// TestRunDraftSubgraphChildIsDraft: the child run that a draft test run's subgraph node
// starts is a draft run too: listed with the drafts, under the child graph, and never
// counted as a run of the child's version it runs.
func TestRunDraftSubgraphChildIsDraft(t *testing.T) {
	versions := &lateVersions{}
	app, rc := newRunAppWith(t, engine.Deps{Versions: versions})
	versions.db = app.DB
	ana := app.api("ana", store.RoleAnalyst)
	child := ana.createGraph("Child greeting", childGreetDoc)
	ana.publish(child, "first")
	parent := ana.createGraph("Parent", `{"format": "trellis.graph/v1", "nodes": [{"id": "sub", "kind": "subgraph", "position": {"x": 40, "y": 40},
		"config": {"graph": "`+child+`", "version": 1, "input": "{name: 'Ada'}"}}], "edges": []}`)

	r := ana.send(http.MethodPost, "/graphs/"+parent+"/draft/runs", map[string]any{"input": map[string]any{}})
	wantStatus(t, r, http.StatusCreated)
	draft := r.JSON(t)["run_id"].(string)
	run := rc.waitRun(t, draft, "the draft run ends", runEnded)
	if run.Status != engine.RunCompleted || toJSONString(run.Nodes["sub"].Output) != `{"hi":"Hi Ada"}` {
		t.Fatalf("draft run = %+v", run)
	}
	childID := draft + ".sub"
	got, err := rc.eng.GetRun(context.Background(), childID)
	if err != nil || !got.Draft || got.Version != engine.DraftVersion || got.Graph != child || !strings.HasPrefix(got.RunID, "draft-") {
		t.Fatalf("child run = %+v, %v; want a draft run of %s", got, err, child)
	}

	// Both are listed with the drafts, the child under its graph; neither is a run of a version.
	rows := runRowsOf(t, ana.waitListed("drafts=true", 2))
	ids := map[string]bool{}
	for _, row := range rows {
		ids[row.RunID] = row.Version == engine.DraftVersion
	}
	if !ids[draft] || !ids[childID] {
		t.Errorf("draft runs = %+v, want %s and %s at version 0", rows, draft, childID)
	}
	if rows := runRowsOf(t, ana.waitListed("drafts=true&graph="+child, 1)); rows[0].RunID != childID {
		t.Errorf("draft runs of %s = %+v", child, rows)
	}
	for _, q := range []string{"", "graph=" + child, "version=1"} {
		if rows := runRowsOf(t, ana.get("/runs?"+q)); len(rows) != 0 {
			t.Errorf("GET /runs?%s = %+v, want no run of a version", q, rows)
		}
	}
	if n, err := rc.eng.CountRuns(context.Background(), child); err != nil || n != 0 {
		t.Errorf("runs of %s = %d, %v; want 0", child, n, err)
	}

	// A run of a published parent still starts a run of the child's version.
	ana.saveDraft(parent, `{"format": "trellis.graph/v1", "nodes": [{"id": "sub", "kind": "subgraph", "position": {"x": 40, "y": 40},
		"config": {"graph": "`+child+`", "version": 1, "input": "{name: 'Bo'}"}}], "edges": []}`)
	ana.publish(parent, "first")
	pub := ana.startRun(parent, map[string]any{})
	rc.waitRun(t, pub, "the run ends", runEnded)
	if rows := runRowsOf(t, ana.waitListed("graph="+child, 1)); rows[0].RunID != pub+".sub" || rows[0].Version != 1 {
		t.Errorf("runs of %s = %+v, want the child of %s at version 1", child, rows, pub)
	}
}
