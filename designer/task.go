package designer

import (
	"encoding/json"
	"time"
)

// NewTask is the human step an approval node (or an agent's tool call that needs approval)
// asks for, its templates rendered: what the engine hands over and the store keeps. Its JSON
// is part of workflow histories; change it only by adding fields.
type NewTask struct {
	RunID        string          `json:"run_id"`
	NodeID       string          `json:"node_id"`
	GraphID      string          `json:"graph_id"`
	Version      int             `json:"version"`
	Title        string          `json:"title"`
	Instructions string          `json:"instructions"`   // Markdown source
	Assignee     string          `json:"assignee"`       // "user:NAME" or "group:NAME"
	Form         json.RawMessage `json:"form,omitempty"` // a JSON Schema, or empty for none
	Outcomes     []string        `json:"outcomes"`
	// Context is what the reviewer sees of the run: {"input": …, "nodes": {id: output}}.
	Context json.RawMessage `json:"context"`
	DueAt   *time.Time      `json:"due_at,omitempty"`
	// ItemTotal is how many items the map of a map item's task has (its NodeID is NODE.INDEX);
	// 0 for any other task, and from runs that did not say.
	ItemTotal int `json:"item_total,omitempty"`
	// CreatedAt is zero for now; imports and benchmarks set it. Never in a history.
	CreatedAt time.Time `json:"-"`
}
