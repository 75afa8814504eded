package web

// versionAPIOps are the operations of versions in production and runs in bulk
// (routes_versions.go), kept beside their routes rather than in the shared table.
var versionAPIOps = []apiOp{
	{Method: "GET", Path: "/api/v1/graphs/:id/traffic", Tag: "versions", Summary: "The traffic split of runs started without a version: {splits: [{version, percent}], sticky}", Status: 200, Answer: "Any"},
	{Method: "PUT", Path: "/api/v1/graphs/:id/traffic", Tag: "versions", Summary: "Set the split; 422 naming the field for a retired or unknown version, a sum other than 100, or a sticky expression that does not compile", Body: "Any", Status: 200, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/graphs/:id/versions/stats", Tag: "versions", Summary: "Per version: runs by status, success rate, duration p50/p95, tokens, cost, open tasks, decisions by outcome, runs still open, traffic", Query: []string{"since"}, Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/bulk", Tag: "runs", Summary: "Act on many runs ({action: cancel|pause|resume|retry_held|rewind|migrate, run_ids | filter, params: {comment, to, from, graph}}) through a batch workflow; 422 over the limit (serve --max-bulk-runs), for migrate without a graph or a version to move to, or rewind without its node; 403 for a role that may not", Body: "Any", Status: 202, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/batches/:id", Tag: "runs", Summary: "A batch's progress: {action, total, done, failed, state, results: [{run_id, ok, error?, new_run_id?}]}", Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/batches/:id/cancel", Tag: "runs", Summary: "Stop a batch; runs already acted on stay so", Status: 202, Answer: "Any"},
}

func init() { apiOps = append(apiOps, versionAPIOps...) }
