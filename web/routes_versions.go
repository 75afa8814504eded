package web

import "net/http"

// versionRoutes are the routes of versions in production (issue #15): a graph's traffic
// split and the outcomes of its versions, and runs in bulk. Analysts and developers read;
// analysts set the traffic (they publish and start runs).
func (s *Server) versionRoutes() []Route {
	rows := []Route{
		// JSON API.
		{Method: http.MethodGet, Path: "/api/v1/graphs/:id/traffic", Roles: graphReaders, Handler: s.versionTrafficAPI},
		{Method: http.MethodPut, Path: "/api/v1/graphs/:id/traffic", Roles: graphWriters, MaxBody: versionTrafficLimit, Handler: s.versionTrafficSaveAPI},
		{Method: http.MethodGet, Path: "/api/v1/graphs/:id/versions/stats", Roles: graphReaders, Handler: s.versionStatsAPI},

		// Pages.
		{Method: http.MethodGet, Path: "/graphs/:id/versions", Roles: graphReaders, Handler: s.versionsShow},
		{Method: http.MethodPost, Path: "/graphs/:id/traffic", Roles: graphWriters, MaxBody: versionTrafficLimit, Handler: s.versionTrafficSave},
		{Method: http.MethodPost, Path: "/graphs/:id/traffic/promote", Roles: graphWriters, MaxBody: versionTrafficLimit, Handler: s.versionPromote},
	}
	for i := range rows {
		rows[i].Handler = s.needGraphs(rows[i].Handler)
	}
	// Runs in bulk: readers may ask; actions.Bulk refuses a role that may not do the action
	// whole, before any run is touched.
	bulk := []Route{
		{Method: http.MethodPost, Path: "/api/v1/runs/bulk", Roles: runReaders, MaxBody: bulkLimit, Handler: s.bulkAPI},
		{Method: http.MethodGet, Path: "/api/v1/batches/:id", Roles: runReaders, Handler: s.batchAPI},
		{Method: http.MethodPost, Path: "/api/v1/batches/:id/cancel", Roles: runCancellers, MaxBody: runFormLimit, Handler: s.batchCancelAPI},
		{Method: http.MethodPost, Path: "/runs/bulk", Roles: runReaders, MaxBody: bulkLimit, Handler: s.bulkSubmit},
		{Method: http.MethodGet, Path: "/batches/:id", Roles: runReaders, Handler: s.batchShow},
		{Method: http.MethodPost, Path: "/batches/:id/cancel", Roles: runCancellers, MaxBody: runFormLimit, Handler: s.batchCancel},
	}
	for i := range bulk {
		bulk[i].Handler = s.needRuns(bulk[i].Handler)
	}
	return append(rows, bulk...)
}
