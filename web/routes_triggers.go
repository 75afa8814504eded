package web

import "net/http"

// triggerRoutes are the routes of schedules and webhooks (issue #16): analysts manage the
// triggers of graphs (admins have every role). POST /hooks/{hook} is Bare: no session and
// no CSRF, since the sender is a program that proves itself with the hook's secret.
func (s *Server) triggerRoutes() []Route {
	lim := newHookLimiter()
	w := graphWriters
	rows := []Route{
		// JSON API.
		{Method: http.MethodGet, Path: "/api/v1/graphs/:id/hooks", Roles: w, Handler: s.hookListAPI},
		{Method: http.MethodPost, Path: "/api/v1/graphs/:id/hooks", Roles: w, MaxBody: hookFormLimit, Handler: s.hookCreateAPI},
		{Method: http.MethodPatch, Path: "/api/v1/graphs/:id/hooks/:hook", Roles: w, MaxBody: hookFormLimit, Handler: s.hookPatchAPI},
		{Method: http.MethodPost, Path: "/api/v1/graphs/:id/hooks/:hook/rotate", Roles: w, MaxBody: hookFormLimit, Handler: s.hookRotateAPI},
		{Method: http.MethodGet, Path: "/api/v1/graphs/:id/schedules", Roles: w, Handler: s.scheduleListAPI},
		{Method: http.MethodPost, Path: "/api/v1/graphs/:id/schedules", Roles: w, MaxBody: scheduleFormLimit, Handler: s.scheduleCreateAPI},
		{Method: http.MethodGet, Path: "/api/v1/schedules/:sid", Roles: w, Handler: s.scheduleShowAPI},
		{Method: http.MethodPatch, Path: "/api/v1/schedules/:sid", Roles: w, MaxBody: scheduleFormLimit, Handler: s.schedulePatchAPI},
		{Method: http.MethodDelete, Path: "/api/v1/schedules/:sid", Roles: w, MaxBody: hookFormLimit, Handler: s.scheduleDeleteAPI},
		{Method: http.MethodPost, Path: "/api/v1/schedules/:sid/trigger", Roles: w, MaxBody: hookFormLimit, Handler: s.scheduleTriggerAPI},

		// Pages.
		{Method: http.MethodGet, Path: "/graphs/:id/triggers", Roles: w, Handler: s.triggersShow},
		{Method: http.MethodPost, Path: "/graphs/:id/hooks", Roles: w, MaxBody: hookFormLimit, Handler: s.hookCreate},
		{Method: http.MethodPost, Path: "/graphs/:id/hooks/:hook/rotate", Roles: w, MaxBody: hookFormLimit, Handler: s.hookRotate},
		{Method: http.MethodPost, Path: "/graphs/:id/hooks/:hook/disable", Roles: w, MaxBody: hookFormLimit, Handler: s.hookDisable},
		{Method: http.MethodPost, Path: "/graphs/:id/hooks/:hook/enable", Roles: w, MaxBody: hookFormLimit, Handler: s.hookEnable},
		{Method: http.MethodPost, Path: "/graphs/:id/schedules", Roles: w, MaxBody: scheduleFormLimit, Handler: s.scheduleCreate},
		{Method: http.MethodPost, Path: "/graphs/:id/schedules/:sid/pause", Roles: w, MaxBody: hookFormLimit, Handler: s.schedulePause},
		{Method: http.MethodPost, Path: "/graphs/:id/schedules/:sid/resume", Roles: w, MaxBody: hookFormLimit, Handler: s.scheduleResume},
		{Method: http.MethodPost, Path: "/graphs/:id/schedules/:sid/trigger", Roles: w, MaxBody: hookFormLimit, Handler: s.scheduleTrigger},
		{Method: http.MethodPost, Path: "/graphs/:id/schedules/:sid/delete", Roles: w, MaxBody: hookFormLimit, Handler: s.scheduleDelete},

		// Deliveries from outside.
		{Method: http.MethodPost, Path: "/hooks/:hook", Bare: true, MaxBody: hookBodyLimit, Handler: s.hookDeliver(lim)},
	}
	for i := range rows {
		rows[i].Handler = s.needTriggers(rows[i].Handler)
	}
	return rows
}
