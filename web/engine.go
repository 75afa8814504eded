package web

import (
	"context"

	"trellis/actions"
)

// Engine is everything web needs of the workflow engine (*engine.Engine implements it, and
// cmd/trellis checks so when it compiles): the run pages' reads and cancel (RunEngine), what
// the actions start and decide through, and the run counts of the graph pages.
type Engine interface {
	RunEngine
	actions.Engine
	Recoverer
	ScheduleEngine
	// CountRuns is how many runs a graph has had, so that a graph is deleted only when no
	// run needs it.
	CountRuns(ctx context.Context, graphID string) (int, error)
}
