package main

import (
	"trellis/actions"
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

	// Versions in production: the actions find these by type assertion, so check here.
	_ actions.TrafficStore     = (*store.DB)(nil)
	_ actions.VersionTaskStore = (*store.DB)(nil)
	_ actions.VersionEngine    = (*engine.Engine)(nil)
)
