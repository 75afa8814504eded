package enginestore

import "trellis/engine"

// The store keeps runs' reports in its run rollup (the Versions tab's figures), and gives
// the reconciliation of runs that ended without reporting their end its open rows.
var (
	_ engine.RunRecorder = Tasks{}
	_ engine.RollupStore = Tasks{}
)
