package designer

import "time"

// RunReport is what a run of a published version reports of itself (the engine sends it,
// the store keeps it in its run rollup): its graph and version, its status, when it
// started and, once ended, when, with its llm usage. Seq orders one run's reports.
type RunReport struct {
	RunID     string     `json:"run_id"`
	GraphID   string     `json:"graph_id"`
	Version   int        `json:"version"`
	Status    string     `json:"status"`
	Seq       int64      `json:"seq"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	Tokens    *int64     `json:"tokens,omitempty"`
	Cost      *float64   `json:"cost,omitempty"`
	// Nodes are the nodes that ran, sent with the end.
	Nodes []NodeReport `json:"nodes,omitempty"`
}

// NodeReport is one node of an ended run: whether it failed (or completed on its error
// port), how long it took, and its llm cost.
type NodeReport struct {
	Node       string   `json:"node"`
	Failed     bool     `json:"failed,omitempty"`
	DurationMs *int64   `json:"duration_ms,omitempty"`
	Cost       *float64 `json:"cost,omitempty"`
}
