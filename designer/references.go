package designer

import (
	"encoding/json"
	"slices"
)

// SubgraphRefs lists the graphs a document's subgraph nodes (and map and loop bodies) run,
// each once, in node order.
// It reads leniently: a document that is not a graph, or a node with a broken config, has
// none, since validation reports those.
func SubgraphRefs(doc []byte) []string {
	var d struct {
		Nodes []struct {
			Kind   string          `json:"kind"`
			Config json.RawMessage `json:"config"`
		} `json:"nodes"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return nil
	}
	var out []string
	for _, n := range d.Nodes {
		if n.Kind == KindAgent {
			for _, id := range agentToolGraphs(n.Config) {
				if !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
			continue
		}
		if !refersToGraph(n.Kind) {
			continue
		}
		var cfg SubgraphConfig
		if json.Unmarshal(n.Config, &cfg) == nil && cfg.Graph != "" && !slices.Contains(out, cfg.Graph) {
			out = append(out, cfg.Graph)
		}
	}
	return out
}
