package enginestore

import (
	"context"

	"trellis/engine"
	"trellis/store"
)

var _ engine.RunRecorder = Tasks{}

// RecordRunReport keeps a run's report in the store's run rollup (the Versions tab's figures).
func (s Tasks) RecordRunReport(ctx context.Context, r engine.RunReport) error {
	return s.RecordRun(ctx, store.RunRollup{RunID: r.RunID, GraphID: r.GraphID, Version: r.Version, Status: r.Status, Seq: r.Seq,
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, Tokens: r.Tokens, Cost: r.Cost, Nodes: nodeRollups(r.Nodes)})
}

func nodeRollups(ns []engine.NodeReport) []store.NodeRollup {
	out := make([]store.NodeRollup, 0, len(ns))
	for _, n := range ns {
		out = append(out, store.NodeRollup{NodeID: n.Node, Failed: n.Failed, DurationMs: n.DurationMs, Cost: n.Cost})
	}
	return out
}
