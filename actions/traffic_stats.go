package actions

import (
	"context"
	"time"

	"trellis/engine"
	"trellis/store"
)

// VersionEngine is what the versions report reads from the engine (*engine.Engine): Temporal
// visibility, never histories.
type VersionEngine interface {
	VersionOutcomes(ctx context.Context, graphID string, since time.Time) ([]engine.VersionOutcome, bool, error)
	OpenRuns(ctx context.Context, graphID string) ([]engine.VersionOpen, bool, error)
}

// VersionTaskStore counts tasks per version (*store.DB).
type VersionTaskStore interface {
	VersionTaskStats(ctx context.Context, graphID string, since time.Time) (map[int]*store.VersionTasks, error)
}

// VersionStats is one version in production: its runs since the window's start, the people's
// decisions on its tasks, what still keeps it alive (Draining), and its share of new runs.
type VersionStats struct {
	engine.VersionOutcome
	Retired   bool               `json:"retired"`
	Percent   *int               `json:"traffic_percent,omitempty"`
	OpenTasks int                `json:"open_tasks"`
	Decisions map[string]int     `json:"decisions"`
	Draining  engine.VersionOpen `json:"draining"`
	// Nodes are the per-node figures of the version's ended runs in the window, by node id.
	Nodes map[string]*store.NodeFigures `json:"nodes"`
}

// VersionReport is a graph's versions side by side, newest first.
type VersionReport struct {
	GraphID  string         `json:"graph"`
	Since    time.Time      `json:"since"`
	Latest   int            `json:"latest_version"`
	Versions []VersionStats `json:"versions"`
	Traffic  *store.Traffic `json:"traffic"`
	// Partial says more runs matched than one report reads (engine.MaxStatsRuns).
	Partial bool `json:"partial,omitempty"`
}

// MaxStatsWindow is the widest window a report covers.
const MaxStatsWindow = 366 * 24 * time.Hour

// VersionReport sums up every published version of a graph: runs started since the window's
// start by status, success rate, durations and usage (from the store's run rollup), open tasks and
// decisions by outcome (from the store), the runs still open however old, and the traffic.
func (a *Actions) VersionReport(ctx context.Context, graphID string, since time.Time) (*VersionReport, error) {
	if !store.ValidGraphID(graphID) {
		return nil, refusef(NotFound, "There is no graph %q.", graphID)
	}
	tasks, ok := a.graphs.(VersionTaskStore)
	if !ok {
		return nil, refusef(Unavailable, "Version outcomes: this server's store does not count tasks.")
	}
	versions, err := a.graphs.ListVersions(ctx, graphID)
	if err != nil {
		return nil, err
	}
	traffic, err := a.Traffic(ctx, graphID)
	if err != nil {
		return nil, err
	}
	outcomes, open, partial, err := a.versionRuns(ctx, graphID, since)
	if err != nil {
		return nil, err
	}
	ts, err := tasks.VersionTaskStats(ctx, graphID, since)
	if err != nil {
		return nil, err
	}
	nodes, err := a.versionNodes(ctx, graphID, since)
	if err != nil {
		return nil, err
	}
	rep := &VersionReport{GraphID: graphID, Since: since.UTC(), Traffic: traffic, Partial: partial}
	for _, v := range versions {
		vs := VersionStats{VersionOutcome: engine.VersionOutcome{Version: v.Version, Runs: map[string]int{}},
			Retired: v.Retired, Decisions: map[string]int{}, Draining: engine.VersionOpen{Version: v.Version, Runs: map[string]int{}}}
		for _, o := range outcomes {
			if o.Version == v.Version {
				vs.VersionOutcome = o
			}
		}
		for _, o := range open {
			if o.Version == v.Version {
				vs.Draining = o
			}
		}
		vs.Nodes = nodes[v.Version]
		if vs.Nodes == nil {
			vs.Nodes = map[string]*store.NodeFigures{}
		}
		if t := ts[v.Version]; t != nil {
			vs.OpenTasks, vs.Decisions = t.Open, t.Decisions
		}
		if traffic != nil {
			for _, s := range traffic.Splits {
				if s.Version == v.Version {
					vs.Percent = &s.Percent
				}
			}
		}
		rep.Versions = append(rep.Versions, vs)
	}
	if len(versions) > 0 {
		rep.Latest = versions[0].Version
	}
	return rep, nil
}
