package web

// triggerAPIOps are the operations of schedules and webhooks (routes_triggers.go), kept
// beside their routes. POST /hooks/{id} is outside /api/v1 and documented in docs/api.md.
var triggerAPIOps = []apiOp{
	{Method: "GET", Path: "/api/v1/graphs/:id/hooks", Tag: "triggers", Summary: "A graph's webhooks with their last deliveries (time, status, run); never their secrets", Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/graphs/:id/hooks", Tag: "triggers", Summary: "Add a webhook {name, auth: hmac|bearer, version?}: 201 {id, url, secret}; the secret is shown this once", Body: "Any", Status: 201, Answer: "Any"},
	{Method: "PATCH", Path: "/api/v1/graphs/:id/hooks/:hook", Tag: "triggers", Summary: "Enable or disable a webhook {enabled}; a disabled hook answers deliveries 404", Body: "Any", Status: 204, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/graphs/:id/hooks/:hook/rotate", Tag: "triggers", Summary: "Give a webhook a new secret {id, url, secret}; the old one stops working at once", Status: 200, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/graphs/:id/schedules", Tag: "triggers", Summary: "A graph's schedules, each with its spec, state and next five firing times", Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/graphs/:id/schedules", Tag: "triggers", Summary: "Add a schedule {cron? | every?, timezone?, version? (number or \"latest\"), input, overlap: skip|buffer_one|allow_all, paused?}: 201 {id, next: [5 times]}; 422 with the field (and cron column) or the input's path; 409 for a retired version", Body: "Any", Status: 201, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/schedules/:sid", Tag: "triggers", Summary: "A schedule with its state, next firings and recent runs", Status: 200, Answer: "Any"},
	{Method: "PATCH", Path: "/api/v1/schedules/:sid", Tag: "triggers", Summary: "Change a schedule's fields; {paused: true|false} pauses or resumes it", Body: "Any", Status: 200, Answer: "Any"},
	{Method: "DELETE", Path: "/api/v1/schedules/:sid", Tag: "triggers", Summary: "Delete a schedule; the runs it started go on", Status: 204, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/schedules/:sid/trigger", Tag: "triggers", Summary: "Fire a schedule now (run now), under its overlap policy", Status: 202, Answer: "Any"},
}

func init() { apiOps = append(apiOps, triggerAPIOps...) }
