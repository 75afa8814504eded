package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"trellis/designer"
)

// BatchTarget is where a migrate or rewind batch takes its runs: Version of Graph (whose
// definition it carries) and, for a rewind, the node From.
type BatchTarget struct {
	Graph      string         `json:"graph"`
	Version    int            `json:"version"`
	Definition designer.Graph `json:"definition"`
	From       string         `json:"from,omitempty"`
}

// batchTargets caches the targets read from batches' starts, by batch id; a batch's start
// never changes.
var batchTargets sync.Map

// batchTargetOf reads the target of batch batchID from its first history event.
func (e *Engine) batchTargetOf(ctx context.Context, batchID string) (*BatchTarget, error) {
	if t, ok := batchTargets.Load(batchID); ok {
		return t.(*BatchTarget), nil
	}
	it := e.c.GetWorkflowHistory(ctx, batchID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, fmt.Errorf("batch %s: empty history", batchID)
	}
	ev, err := it.Next()
	if err != nil {
		return nil, fmt.Errorf("batch %s: %w", batchID, err)
	}
	var in BatchInput
	p := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(p) == 0 {
		return nil, fmt.Errorf("batch %s: no input", batchID)
	}
	if err := converter.GetDefaultDataConverter().FromPayload(p[0], &in); err != nil {
		return nil, fmt.Errorf("batch %s: %w", batchID, err)
	}
	if in.Target == nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("batch %s has no target version", batchID), "BadBatch", nil)
	}
	batchTargets.Store(batchID, in.Target)
	return in.Target, nil
}

// actOnRunTo moves run runID to the batch's target version, or rewinds it from the target's
// node onto it (answering the new run's id).
func (e *Engine) actOnRunTo(ctx context.Context, in batchChunkInput, batchID, runID string) (string, error) {
	t, err := e.batchTargetOf(ctx, batchID)
	if err != nil {
		return "", err
	}
	run, err := e.GetRun(ctx, runID)
	if err != nil {
		return "", err
	}
	if run.Graph != t.Graph {
		return "", fmt.Errorf("the run is of graph %s, not %s", run.Graph, t.Graph)
	}
	if in.Action == BatchRewind {
		id, _, err := e.Rewind(ctx, RewindRequest{RunID: runID, From: t.From, Target: &t.Definition, Version: t.Version, By: in.By})
		return id, err
	}
	if run.Version == t.Version {
		return "", fmt.Errorf("the run is on version %d already", t.Version)
	}
	_, err = e.MigrateRun(ctx, runID, MigrateRequest{Version: t.Version, Definition: t.Definition, By: in.By, Comment: in.Comment})
	var me *MigrationError
	if errors.As(err, &me) {
		parts := make([]string, 0, len(me.Problems))
		for _, p := range me.Problems {
			parts = append(parts, problemString(p))
		}
		return "", fmt.Errorf("it cannot move to version %d: %s", t.Version, strings.Join(parts, "; "))
	}
	return "", err
}
