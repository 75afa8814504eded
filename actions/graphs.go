package actions

import (
	"context"
	"errors"
	"log/slog"

	"trellis/engine"
)

// GraphRemover deletes a graph with its versions, hooks and schedules' index rows
// (*store.DB implements it). Errors: store.ErrNotFound for an unknown graph.
type GraphRemover interface {
	DeleteGraph(ctx context.Context, id string) error
}

// DeleteGraph deletes a graph and everything that starts its runs: first its schedules on
// Temporal, so that none fires for a graph that is gone, then the graph in the store, which
// takes its versions, hooks (and their secrets) and schedules' index rows along. The caller
// has checked that no run or other graph needs it. A graph with schedules cannot be deleted
// without the engine (Unavailable): its Temporal schedules would be left behind.
func (t *Triggers) DeleteGraph(ctx context.Context, g GraphRemover, graphID, by string) error {
	recs, err := t.store.ListScheduleRecords(ctx, graphID)
	if err != nil {
		return err
	}
	if len(recs) > 0 && t.sched == nil {
		return errNoEngine("The graph's schedules cannot be deleted")
	}
	for _, r := range recs {
		if err := t.sched.DeleteSchedule(ctx, r.ID); err != nil && !errors.Is(err, engine.ErrScheduleNotFound) {
			return err
		}
		t.a.log.Info("schedule deleted with its graph", slog.String("schedule", r.ID), slog.String("graph", graphID), slog.String("by", by))
	}
	if err := g.DeleteGraph(ctx, graphID); err != nil {
		return err
	}
	t.a.log.Info("graph deleted", slog.String("graph", graphID), slog.String("by", by))
	return nil
}
