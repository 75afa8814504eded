package web

// recoverAPIOps are the operations of recovering a run (run_recover.go, run_rewind.go).
var recoverAPIOps = []apiOp{
	{Method: "POST", Path: "/api/v1/runs/:id/nodes/:node/retry", Tag: "runs", Summary: "Retry a held node with fresh attempts ({comment?}); 409 naming the node's or run's status (developers)", Body: "Any", Status: 202, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/:id/nodes/:node/skip", Tag: "runs", Summary: "Complete a held node with {output, port?, comment?}; 400 naming output when missing, 422 for a port the node lacks, 409 unless held (developers)", Body: "Any", Status: 202, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/:id/nodes/:node/fail", Tag: "runs", Summary: "Fail a held node as with on_error fail ({comment?}); 409 unless held (developers)", Body: "Any", Status: 202, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/:id/pause", Tag: "runs", Summary: "Pause a run: no node starts, work in flight finishes, tasks stay decidable ({comment?}); 409 when paused or ended (developers)", Body: "Any", Status: 202, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/:id/resume", Tag: "runs", Summary: "Resume a paused run ({comment?}); 409 unless paused (developers)", Body: "Any", Status: 202, Answer: "Any"},
	{Method: "GET", Path: "/api/v1/runs/:id/rewind", Tag: "runs", Summary: "Preview a rewind: {version, reused, rerun, why}; 422 naming a from missing in the version", Query: []string{"from", "version"}, Status: 200, Answer: "Any"},
	{Method: "POST", Path: "/api/v1/runs/:id/rewind", Tag: "runs", Summary: "Rewind: a new run carrying over the recorded outputs of the nodes not downstream of from ({from, version?, input?, outputs?}); 422 for a correction of a node not carried over", Body: "Any", Status: 201, Answer: "Any"},
}

func init() { apiOps = append(apiOps, recoverAPIOps...) }
