package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"trellis/store"
)

// Route is one row of the routes table.
//
// Every route is signed-in only unless Public or Bare. For a signed-in route, Roles lists the
// roles of which the user needs any one (admins have every role); empty means any signed-in
// user. Pages redirect anonymous visitors to /login; /api/v1 answers 401 JSON.
//
// The middleware chain of a route is: identify the user (session cookie, or a bearer token under
// /api/v1) → require sign-in and role → limit the body → check CSRF (not for bearer requests) →
// Handler.
type Route struct {
	Method string
	Path   string // echo syntax: "/graphs/:id"
	Roles  []string
	// Public routes need no sign-in; the session is still read and CSRF still checked.
	Public bool
	// Bare routes need no sign-in and skip session and CSRF: health checks and static files.
	Bare bool
	// MaxBody limits the request body in bytes; 0 means Config.MaxBodyBytes.
	MaxBody int64
	Handler echo.HandlerFunc
}

// routeTable is every route of the server. Add rows here, grouped by feature; files in web are
// named resource_action.go after the handler they hold.
func (s *Server) routeTable() []Route {
	rows := []Route{
		// Health and assets.
		{Method: http.MethodGet, Path: "/healthz", Bare: true, Handler: s.healthCheck},
		{Method: http.MethodGet, Path: "/api/v1/healthz", Bare: true, Handler: s.healthCheck},
		{Method: http.MethodGet, Path: "/api/v1/openapi.json", Handler: s.openAPIShow},
		// The stream that keeps lists and navigation counts current (live_changes.go).
		{Method: http.MethodGet, Path: "/live/changes", Handler: s.changesEvents},
		{Method: http.MethodGet, Path: "/static/:version/*", Bare: true, Handler: s.staticServe},

		// Sessions.
		{Method: http.MethodGet, Path: "/login", Public: true, Handler: s.loginShow},
		{Method: http.MethodPost, Path: "/login", Public: true, MaxBody: 64 << 10, Handler: s.loginSubmit},
		{Method: http.MethodPost, Path: "/logout", MaxBody: 64 << 10, Handler: s.logout},

		// Pages.
		{Method: http.MethodGet, Path: "/", Handler: s.homeShow},
	}
	// Features keep their rows in routes_<feature>.go.
	rows = append(rows, s.userRoutes()...)
	rows = append(rows, s.graphRoutes()...)
	rows = append(rows, s.editorRoutes()...)
	rows = append(rows, s.runRoutes()...)
	rows = append(rows, s.taskRoutes()...)
	rows = append(rows, s.providerRoutes()...)
	rows = append(rows, s.mcpServerRoutes()...)
	rows = append(rows, s.versionRoutes()...)
	rows = append(rows, s.triggerRoutes()...)
	rows = append(rows, s.notificationRoutes()...)
	rows = append(rows, s.internalRoutes()...)
	rows = append(rows, s.mcpRoutes()...)
	return rows
}

// mount registers r with its middleware chain.
func (s *Server) mount(r Route) {
	var mw []echo.MiddlewareFunc
	if !r.Bare {
		mw = append(mw, s.identify)
	}
	if !r.Public && !r.Bare {
		mw = append(mw, s.requireRoles(r.Roles))
	}
	limit := r.MaxBody
	if limit <= 0 {
		limit = s.cfg.MaxBodyBytes
	}
	mw = append(mw, limitBody(limit))
	if !r.Bare {
		mw = append(mw, s.csrf)
	}
	s.echo.Add(r.Method, r.Path, r.Handler, mw...)
	s.byKey[r.Method+" "+r.Path] = r
}

// allows reports whether u may use r (ignoring CSRF).
func (r Route) allows(u *store.User) bool {
	if r.Public || r.Bare {
		return true
	}
	if u == nil {
		return false
	}
	// A worker token opens the internal API only, not the routes of any signed-in user
	// (the authorization matrix found it reading /api/v1/openapi.json and reaching /mcp).
	if slices.Contains(u.Roles, RoleWorker) && !slices.Contains(r.Roles, RoleWorker) {
		return false
	}
	if len(r.Roles) == 0 {
		return true
	}
	return slices.ContainsFunc(r.Roles, u.HasRole)
}
