package engine

import (
	"encoding/json"
	"time"

	"trellis/designer"
)

// PreviewValue evaluates a transform's value (raw JSON, as in its config: a string is an
// expression, anything else a JSON value whose strings are templates) against a run's data,
// as a transform at the end of that run would see it. The editor's preview uses it; it
// compiles and evaluates exactly as a running transform does and changes nothing.
func PreviewValue(raw json.RawMessage, r *Run) (any, error) {
	v, err := compileValue(raw, true)
	if err != nil {
		return nil, err
	}
	return v.eval(RunScope(r), false)
}

// RunScope is the scope expressions see at the end of run r: its input, each node's output
// and status (the output only of completed nodes, as in the workflow), and the run itself.
func RunScope(r *Run) map[string]any {
	nodes := make(map[string]any, len(r.Nodes))
	for id, n := range r.Nodes {
		var out any
		if n.Status == NodeCompleted {
			out = n.Output
		}
		nodes[id] = map[string]any{"output": out, "status": n.Status}
	}
	return map[string]any{
		designer.RootInput: r.Input,
		designer.RootNodes: nodes,
		designer.RootRun: map[string]any{"id": r.RunID, "graph": r.Graph, "version": r.Version,
			"started_at": r.StartedAt.UTC().Format(time.RFC3339Nano)},
	}
}
