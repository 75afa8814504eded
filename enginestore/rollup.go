package enginestore

import "trellis/engine"

// The store keeps runs' reports in its run rollup (the Versions tab's figures).
var _ engine.RunRecorder = Tasks{}
