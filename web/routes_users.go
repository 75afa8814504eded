package web

import (
	"net/http"

	"trellis/store"
)

// userFormLimit limits the user forms: a name, a password, a few roles and groups.
const userFormLimit = 64 << 10

// userRoutes are the routes of the user administration pages. Only admins use them.
func (s *Server) userRoutes() []Route {
	admin := []string{store.RoleAdmin}
	return []Route{
		{Method: http.MethodGet, Path: "/admin/users", Roles: admin, Handler: s.userList},
		{Method: http.MethodPost, Path: "/admin/users", Roles: admin, MaxBody: userFormLimit, Handler: s.userCreate},
		{Method: http.MethodGet, Path: "/admin/users/:name", Roles: admin, Handler: s.userEdit},
		{Method: http.MethodPost, Path: "/admin/users/:name", Roles: admin, MaxBody: userFormLimit, Handler: s.userSave},
		{Method: http.MethodPost, Path: "/admin/users/:name/disable", Roles: admin, MaxBody: userFormLimit, Handler: s.userDisable},
		{Method: http.MethodPost, Path: "/admin/users/:name/enable", Roles: admin, MaxBody: userFormLimit, Handler: s.userEnable},
		{Method: http.MethodGet, Path: "/admin/users/:name/delete", Roles: admin, Handler: s.userDeleteConfirm},
		{Method: http.MethodPost, Path: "/admin/users/:name/delete", Roles: admin, MaxBody: userFormLimit, Handler: s.userDelete},
		{Method: http.MethodPost, Path: "/admin/users/:name/tokens/:id/revoke", Roles: admin, MaxBody: userFormLimit, Handler: s.userTokenRevoke},
		{Method: http.MethodGet, Path: "/admin/tokens", Roles: admin, Handler: s.tokenList},
		{Method: http.MethodPost, Path: "/admin/tokens/:id/revoke", Roles: admin, MaxBody: userFormLimit, Handler: s.tokenRevoke},
	}
}
