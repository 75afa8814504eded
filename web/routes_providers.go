package web

import (
	"net/http"

	"trellis/store"
)

// providerFormLimit limits the provider form: a handful of fields and price rows.
const providerFormLimit = 64 << 10

// secretFormLimit fits the largest secret, percent-encoded (three bytes per byte), and the
// rest of the form.
const secretFormLimit = 3*store.MaxSecretSize + 16<<10

// providerRoutes are the routes of the LLM providers and secrets admin pages. Only admins
// use them: a provider decides where prompts (and their data) are sent.
func (s *Server) providerRoutes() []Route {
	admin := []string{store.RoleAdmin}
	rows := []Route{
		{Method: http.MethodGet, Path: "/admin/providers", Roles: admin, Handler: s.providerList},
		{Method: http.MethodPost, Path: "/admin/providers", Roles: admin, MaxBody: providerFormLimit, Handler: s.providerSave},
		{Method: http.MethodPost, Path: "/admin/providers/:name/delete", Roles: admin, MaxBody: providerFormLimit, Handler: s.providerDelete},
		{Method: http.MethodGet, Path: "/admin/secrets", Roles: admin, Handler: s.secretList},
		{Method: http.MethodPost, Path: "/admin/secrets", Roles: admin, MaxBody: secretFormLimit, Handler: s.secretSave},
	}
	for i := range rows {
		rows[i].Handler = s.needProviders(rows[i].Handler)
	}
	return rows
}
