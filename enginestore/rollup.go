package enginestore

import (
	"context"

	"trellis/engine"
)

// The store keeps runs' reports in its run rollup (the Versions tab's figures), and gives
// the reconciliation of runs that ended without reporting their end its open rows.
var (
	_ engine.RunRecorder = Tasks{}
	_ engine.RollupStore = Tasks{}
)

// OpenRollupRuns pages through the rollup's open rows.
func (s Tasks) OpenRollupRuns(ctx context.Context, after string, limit int) ([]engine.RollupRun, error) {
	rows, err := s.RollupOpenRuns(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]engine.RollupRun, len(rows))
	for i, r := range rows {
		out[i] = engine.RollupRun{RunID: r.RunID, GraphID: r.GraphID, Version: r.Version, Status: r.Status, Seq: r.Seq, StartedAt: r.StartedAt}
	}
	return out, nil
}
