package web

import "net/http"

// taskRoutes are the routes of the tasks feature: the reviewers' inbox, task pages and the
// JSON API of api.md. Reviewers (and admins) use them; which tasks a user sees and may
// decide follows their assignment, not their role.
func (s *Server) taskRoutes() []Route {
	rows := []Route{
		// JSON API.
		{Method: http.MethodGet, Path: "/api/v1/tasks", Roles: taskReviewers, Handler: s.taskListAPI},
		{Method: http.MethodGet, Path: "/api/v1/tasks/:id", Roles: taskReviewers, Handler: s.taskShowAPI},
		{Method: http.MethodPost, Path: "/api/v1/tasks/:id/decision", Roles: taskReviewers, MaxBody: taskDecisionLimit, Handler: s.taskDecideAPI},
		{Method: http.MethodPost, Path: "/api/v1/tasks/decisions", Roles: taskReviewers, MaxBody: taskDecisionLimit, Handler: s.taskDecideManyAPI},
		{Method: http.MethodPost, Path: "/api/v1/tasks/:id/claim", Roles: taskReviewers, MaxBody: taskFormLimit, Handler: s.taskClaimAPI(true)},
		{Method: http.MethodPost, Path: "/api/v1/tasks/:id/unclaim", Roles: taskReviewers, MaxBody: taskFormLimit, Handler: s.taskClaimAPI(false)},

		// Pages.
		{Method: http.MethodGet, Path: "/inbox", Roles: taskReviewers, Handler: s.inboxShow},
		{Method: http.MethodPost, Path: "/inbox/decisions", Roles: taskReviewers, MaxBody: taskDecisionLimit, Handler: s.inboxDecideMany},
		{Method: http.MethodGet, Path: "/tasks/:id", Roles: taskReviewers, Handler: s.taskShow},
		{Method: http.MethodPost, Path: "/tasks/:id/decision", Roles: taskReviewers, MaxBody: taskDecisionLimit, Handler: s.taskDecide},
		{Method: http.MethodPost, Path: "/tasks/:id/claim", Roles: taskReviewers, MaxBody: taskFormLimit, Handler: s.taskClaim(true)},
		{Method: http.MethodPost, Path: "/tasks/:id/unclaim", Roles: taskReviewers, MaxBody: taskFormLimit, Handler: s.taskClaim(false)},
	}
	for i := range rows {
		rows[i].Handler = s.needTasks(rows[i].Handler)
	}
	// The navigation polls the counts on every page, so they answer even without a store.
	return append(rows, Route{Method: http.MethodGet, Path: "/inbox/counts", Roles: taskReviewers, Handler: s.inboxCounts})
}
