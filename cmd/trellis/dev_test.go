package main

import (
	"context"
	"encoding/json"
	"testing"

	"trellis/designer"
	"trellis/store/storetest"
)

// TestSeedDevPinsBodyGraphs: --dev publishes the loop example with its body graph pinned to
// the seeded draft-and-review's version, as publishing would.
func TestSeedDevPinsBodyGraphs(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	if _, err := seedDev(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"document-triage", "draft-and-review"} {
		if _, err := db.LatestVersion(ctx, id); err != nil {
			t.Errorf("sample %s: %v", id, err)
		}
	}
	v, err := db.LatestVersion(ctx, "reply-until-approved")
	if err != nil {
		t.Fatal(err)
	}
	var g designer.Graph
	if err := json.Unmarshal(v.Definition, &g); err != nil {
		t.Fatal(err)
	}
	n, ok := g.NodeByID("rounds")
	if !ok {
		t.Fatalf("no loop node in %s", v.Definition)
	}
	var c designer.LoopConfig
	if err := json.Unmarshal(n.Config, &c); err != nil || c.Graph != "draft-and-review" || string(c.Version) != "1" {
		t.Fatalf("loop config = %s (%v), want draft-and-review version 1", n.Config, err)
	}
}
