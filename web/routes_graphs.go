package web

import "net/http"

// graphRoutes are the routes of the graphs feature: the JSON API of api.md and the pages.
// Analysts and developers read graphs; only analysts change them or start runs (admins have
// every role). The editor page (/graphs/:id/edit) is in routes_editor.go.
func (s *Server) graphRoutes() []Route {
	rows := []Route{
		// JSON API.
		{Method: http.MethodGet, Path: "/api/v1/graphs", Roles: graphReaders, Handler: s.graphListAPI},
		{Method: http.MethodPost, Path: "/api/v1/graphs", Roles: graphWriters, Handler: s.graphCreateAPI},
		{Method: http.MethodPost, Path: "/api/v1/graphs/validate", Roles: graphReaders, Handler: s.graphValidate},
		{Method: http.MethodGet, Path: "/api/v1/graphs/:id", Roles: graphReaders, Handler: s.graphShowAPI},
		{Method: http.MethodPut, Path: "/api/v1/graphs/:id/draft", Roles: graphWriters, MaxBody: maxGraphBytes, Handler: s.graphDraftSave},
		{Method: http.MethodPost, Path: "/api/v1/graphs/:id/versions", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphPublishAPI},
		{Method: http.MethodGet, Path: "/api/v1/graphs/:id/versions/:v", Roles: graphReaders, Handler: s.graphVersionAPI},
		{Method: http.MethodPost, Path: "/api/v1/graphs/:id/versions/:v/retire", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphVersionRetireAPI},
		{Method: http.MethodGet, Path: "/api/v1/graphs/:id/diff", Roles: graphReaders, Handler: s.graphDiffAPI},
		{Method: http.MethodPost, Path: "/api/v1/graphs/:id/runs", Roles: graphWriters, MaxBody: graphRunStartLimit, Handler: s.graphRunStartAPI},

		// Pages.
		{Method: http.MethodGet, Path: "/graphs", Roles: graphReaders, Handler: s.graphList},
		{Method: http.MethodPost, Path: "/graphs", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphCreate},
		{Method: http.MethodPost, Path: "/graphs/import", Roles: graphWriters, MaxBody: graphImportLimit, Handler: s.graphImport},
		{Method: http.MethodGet, Path: "/graphs/:id", Roles: graphReaders, Handler: s.graphShow},
		{Method: http.MethodGet, Path: "/graphs/:id/export", Roles: graphReaders, Handler: s.graphExport},
		{Method: http.MethodPost, Path: "/graphs/:id/rename", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphRename},
		{Method: http.MethodPost, Path: "/graphs/:id/duplicate", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphDuplicate},
		{Method: http.MethodPost, Path: "/graphs/:id/delete", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphDelete},
		{Method: http.MethodPost, Path: "/graphs/:id/versions", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphPublish},
		{Method: http.MethodGet, Path: "/graphs/:id/versions/:v", Roles: graphReaders, Handler: s.graphVersionShow},
		{Method: http.MethodPost, Path: "/graphs/:id/versions/:v/retire", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphVersionRetire},
		{Method: http.MethodPost, Path: "/graphs/:id/versions/:v/restore", Roles: graphWriters, MaxBody: graphFormLimit, Handler: s.graphVersionRestore},
		{Method: http.MethodGet, Path: "/graphs/:id/diff", Roles: graphReaders, Handler: s.graphDiff},
		{Method: http.MethodGet, Path: "/graphs/:id/runs/new", Roles: graphWriters, Handler: s.graphRunNew},
		{Method: http.MethodPost, Path: "/graphs/:id/runs", Roles: graphWriters, MaxBody: graphRunStartLimit, Handler: s.graphRunSubmit},
	}
	for i := range rows {
		rows[i].Handler = s.needGraphs(rows[i].Handler)
	}
	return rows
}
