package actions

import (
	"context"
	"time"

	"trellis/engine"
	"trellis/store"
)

// VersionRollupStore sums up runs from the store's run rollup, which runs fill as they start,
// change and end (*store.DB).
type VersionRollupStore interface {
	VersionRollup(ctx context.Context, graphID string, since time.Time) (map[int]*store.VersionRuns, error)
	OpenRunsByVersion(ctx context.Context, graphID string) (map[int]*store.VersionOpenRuns, error)
}

// versionRuns reads a graph's runs per version: from the store's rollup when the store keeps
// one (a few indexed queries, however many runs), else from Temporal visibility.
func (a *Actions) versionRuns(ctx context.Context, graphID string, since time.Time) ([]engine.VersionOutcome, []engine.VersionOpen, bool, error) {
	if rs, ok := a.graphs.(VersionRollupStore); ok {
		return rollupRuns(ctx, rs, graphID, since)
	}
	eng, ok := a.engine.(VersionEngine)
	if !ok {
		return nil, nil, false, errNoEngine("Version outcomes cannot be read")
	}
	outcomes, partial, err := eng.VersionOutcomes(ctx, graphID, since)
	if err != nil {
		return nil, nil, false, err
	}
	open, partialOpen, err := eng.OpenRuns(ctx, graphID)
	if err != nil {
		return nil, nil, false, err
	}
	return outcomes, open, partial || partialOpen, nil
}

func rollupRuns(ctx context.Context, rs VersionRollupStore, graphID string, since time.Time) ([]engine.VersionOutcome, []engine.VersionOpen, bool, error) {
	runs, err := rs.VersionRollup(ctx, graphID, since)
	if err != nil {
		return nil, nil, false, err
	}
	open, err := rs.OpenRunsByVersion(ctx, graphID)
	if err != nil {
		return nil, nil, false, err
	}
	var outcomes []engine.VersionOutcome
	for _, r := range runs {
		o := engine.VersionOutcome{Version: r.Version, Runs: r.Runs, DurationP50: r.P50, DurationP95: r.P95, Tokens: r.Tokens, Cost: r.Cost}
		if r.Ended > 0 {
			rate := float64(r.Completed) / float64(r.Ended)
			o.SuccessRate = &rate
		}
		outcomes = append(outcomes, o)
	}
	var opens []engine.VersionOpen
	for _, o := range open {
		vo := engine.VersionOpen{Version: o.Version, Runs: o.Runs, Total: o.Total}
		if r := o.Oldest; r != nil {
			vo.Oldest = &engine.DrainingRun{RunID: r.RunID, Status: r.Status, StartedAt: r.StartedAt}
		}
		opens = append(opens, vo)
	}
	return outcomes, opens, false, nil
}

// VersionNodeStore sums up the nodes of ended runs per version (*store.DB).
type VersionNodeStore interface {
	VersionNodeFigures(ctx context.Context, graphID string, since time.Time) (map[int]map[string]*store.NodeFigures, error)
}

// versionNodes reads the per-node figures, or none from a store that keeps none.
func (a *Actions) versionNodes(ctx context.Context, graphID string, since time.Time) (map[int]map[string]*store.NodeFigures, error) {
	if ns, ok := a.graphs.(VersionNodeStore); ok {
		return ns.VersionNodeFigures(ctx, graphID, since)
	}
	return nil, nil
}
