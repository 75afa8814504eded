package web

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// RoleWorker is the role of the identity a worker token gives (see WorkerTokens). It is not a
// store role: no user can be given it, and admins, who hold every store role, are still
// refused by the internal routes.
const RoleWorker = "worker"

// internalRoutes are the internal API that `trellis worker` on another machine calls for what
// its activities need from serve's store (secrets, LLM providers), so that nothing of it
// passes through workflow history. Only a worker token opens them.
func (s *Server) internalRoutes() []Route {
	worker := []string{RoleWorker}
	rows := []Route{
		{Method: http.MethodGet, Path: "/api/v1/internal/hello", Roles: worker, Handler: s.internalHello},
		{Method: http.MethodGet, Path: "/api/v1/internal/secrets/:name", Roles: worker, Handler: s.internalSecretShow},
		{Method: http.MethodGet, Path: "/api/v1/internal/providers/:name", Roles: worker, Handler: s.internalProviderShow},
		{Method: http.MethodGet, Path: "/api/v1/internal/mcp-servers/:name", Roles: worker, Handler: s.internalMCPServerShow},
	}
	for i := range rows {
		rows[i].Handler = s.workerOnly(rows[i].Handler)
	}
	return rows
}

// workerOnly lets through only a worker token's identity, by bearer token: requireRoles alone
// would admit admins. Answers are never cached.
func (s *Server) workerOnly(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := CurrentUser(c)
		if c.Get(bearerKey) == nil || u == nil || !slices.Contains(u.Roles, RoleWorker) {
			return errForbidden("Only a worker token opens the internal API.")
		}
		if s.deps.Worker == nil {
			return NewError(http.StatusServiceUnavailable, "This server gives no worker access: start serve with --worker-token-file.")
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return h(c)
	}
}
