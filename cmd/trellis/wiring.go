package main

import (
	"trellis/engine"
	"trellis/store"
	"trellis/web"
)

// The adapters serve hands web, checked when this package compiles rather than found by
// type assertions at run time.
var (
	_ web.UserStore     = (*store.DB)(nil)
	_ web.GraphStore    = (*store.DB)(nil)
	_ web.TaskStore     = (*store.DB)(nil)
	_ web.ProviderStore = (*store.DB)(nil)
	_ web.Engine        = (*engine.Engine)(nil)
	_ web.WorkerSource  = workerSource{}
)
