package web

import "net/http"

// runRoutes are the routes of the runs feature: the JSON API of api.md and the pages.
// Developers and analysts read runs; developers cancel them; analysts start them again
// (admins have every role).
func (s *Server) runRoutes() []Route {
	rows := []Route{
		// JSON API.
		{Method: http.MethodGet, Path: "/api/v1/runs", Roles: runReaders, Handler: s.runListAPI},
		{Method: http.MethodGet, Path: "/api/v1/runs/:id", Roles: runReaders, Handler: s.runShowAPI},
		{Method: http.MethodGet, Path: "/api/v1/runs/:id/timeline", Roles: runReaders, Handler: s.runTimelineAPI},
		{Method: http.MethodGet, Path: "/api/v1/runs/:id/history", Roles: runReaders, Handler: s.runHistory},
		{Method: http.MethodPost, Path: "/api/v1/runs/:id/cancel", Roles: runCancellers, MaxBody: runFormLimit, Handler: s.runCancelAPI},

		// Pages.
		{Method: http.MethodGet, Path: "/runs", Roles: runReaders, Handler: s.runList},
		{Method: http.MethodGet, Path: "/runs/:id", Roles: runReaders, Handler: s.runShow},
		{Method: http.MethodGet, Path: "/runs/:id/history", Roles: runReaders, Handler: s.runHistory},
		{Method: http.MethodGet, Path: "/runs/:id/events", Roles: runReaders, Handler: s.runEvents},
		{Method: http.MethodPost, Path: "/runs/:id/cancel", Roles: runCancellers, MaxBody: runFormLimit, Handler: s.runCancel},
		{Method: http.MethodPost, Path: "/runs/:id/rerun", Roles: runStarters, MaxBody: runFormLimit, Handler: s.runRerun},

		// Test runs of a graph's draft, from the editor (graph_test_run.go).
		{Method: http.MethodPost, Path: "/api/v1/graphs/:id/draft/runs", Roles: runStarters, MaxBody: graphRunStartLimit, Handler: s.needGraphs(s.graphTestRunAPI)},
		{Method: http.MethodGet, Path: "/graphs/:id/test-run", Roles: runStarters, Handler: s.needGraphs(s.graphTestRunNew)},
		{Method: http.MethodPost, Path: "/graphs/:id/test-run", Roles: runStarters, MaxBody: graphRunStartLimit, Handler: s.needGraphs(s.graphTestRunSubmit)},
	}
	// Incidents, pause and resume (run_recover.go).
	rows = append(rows, s.recoverRoutes()...)
	rows = append(rows, s.rewindRoutes()...)
	rows = append(rows, s.migrateRoutes()...) // run_migrate.go
	for i := range rows {
		rows[i].Handler = s.needRuns(rows[i].Handler)
	}
	// The held-runs count is in every developer's navigation, engine or not (run_recover.go).
	return append(rows, Route{Method: http.MethodGet, Path: "/runs/held-count", Roles: runOperators, Handler: s.heldRunsCount})
}
