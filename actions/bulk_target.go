package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// bulkTarget resolves where a migrate or rewind batch takes its runs, whole, before any run
// is touched: the graph (the filter's, or params.graph), and for migrate version params.to,
// for rewind the latest version that is not retired with node params.from in it. Other
// actions have none.
func (a *Actions) bulkTarget(ctx context.Context, req BulkRequest) (*engine.BatchTarget, error) {
	if req.Action != engine.BatchMigrate && req.Action != engine.BatchRewind {
		return nil, nil
	}
	graph := strings.TrimSpace(req.Params.Graph)
	if req.Filter != nil && req.Filter.Graph != "" {
		graph = req.Filter.Graph
	}
	if graph == "" {
		return nil, bulkInvalid("params.graph", "Name the graph of the runs (filter.graph, or params.graph with run_ids): runs move or rewind within one graph.")
	}
	if !store.ValidGraphID(graph) {
		return nil, bulkInvalid("params.graph", fmt.Sprintf("%q is not a graph id.", graph))
	}
	var v *store.Version
	var err error
	if req.Action == engine.BatchMigrate {
		if req.Params.To < 1 {
			return nil, bulkInvalid("params.to", "Give the version to move the runs to (params.to).")
		}
		v, err = a.graphs.GetVersion(ctx, graph, req.Params.To)
		if errors.Is(err, store.ErrNotFound) {
			return nil, bulkInvalid("params.to", fmt.Sprintf("Graph %s has no version %d.", graph, req.Params.To))
		}
		if err == nil && v.Retired {
			return nil, bulkInvalid("params.to", fmt.Sprintf("Version %d is retired; runs cannot move to it.", req.Params.To))
		}
	} else {
		v, err = a.PickVersion(ctx, graph, 0)
		if errors.Is(err, store.ErrNotFound) {
			return nil, bulkInvalid("params.graph", fmt.Sprintf("There is no graph %s.", graph))
		}
	}
	if err != nil {
		return nil, err
	}
	def, err := ParseVersion(v)
	if err != nil {
		return nil, err
	}
	t := &engine.BatchTarget{Graph: graph, Version: v.Version, Definition: *def}
	if req.Action == engine.BatchRewind {
		t.From = strings.TrimSpace(req.Params.From)
		if _, ok := def.NodeByID(t.From); !ok || !designer.ValidNodeID(t.From) {
			return nil, bulkInvalid("params.from", fmt.Sprintf("Give the node to rewind from (params.from), one of version %d of %s.", v.Version, graph))
		}
	}
	return t, nil
}
