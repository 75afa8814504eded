package actions

import (
	"context"
	"slices"

	"trellis/designer"
)

// VersionDrift is how the graph's latest version differs from a task's version at the
// task's node or downstream of it: what a reviewer deciding on an older version should know.
type VersionDrift struct {
	Version int
	Latest  int
	// Nodes are the node ids added, removed or changed at the node or after it.
	Nodes []string
}

// TaskVersionDrift compares a task's version with the latest at nodeID and downstream of it
// (in either version); nil when the task is on the latest version or nothing there changed.
func (a *Actions) TaskVersionDrift(ctx context.Context, graphID string, version int, nodeID string) (*VersionDrift, error) {
	latest, err := a.graphs.LatestVersion(ctx, graphID)
	if err != nil || latest.Version <= version {
		return nil, err
	}
	old, err := a.graphs.GetVersion(ctx, graphID, version)
	if err != nil {
		return nil, err
	}
	from, err := ParseVersion(old)
	if err != nil {
		return nil, err
	}
	to, err := ParseVersion(latest)
	if err != nil {
		return nil, err
	}
	after := downstream(from, nodeID)
	for id := range downstream(to, nodeID) {
		after[id] = true
	}
	d := designer.Diff(from, to)
	touched := map[string]bool{}
	for _, id := range append(slices.Clone(d.Nodes.Added), d.Nodes.Removed...) {
		touched[id] = true
	}
	for _, c := range d.Nodes.Changed {
		touched[c.ID] = true
	}
	for _, e := range append(slices.Clone(d.Edges.Added), d.Edges.Removed...) {
		if after[e.From] {
			touched[e.To] = true
		}
	}
	var nodes []string
	for id := range touched {
		if after[id] {
			nodes = append(nodes, id)
		}
	}
	if len(nodes) == 0 {
		return nil, nil
	}
	slices.Sort(nodes)
	return &VersionDrift{Version: version, Latest: latest.Version, Nodes: nodes}, nil
}

// downstream is nodeID and every node reachable from it along edges.
func downstream(g *designer.Graph, nodeID string) map[string]bool {
	out := map[string]bool{nodeID: true}
	queue := []string{nodeID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, e := range g.Edges {
			if e.From == id && !out[e.To] {
				out[e.To] = true
				queue = append(queue, e.To)
			}
		}
	}
	return out
}
