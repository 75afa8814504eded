// Package enginestore is the engine's view of the store: adapters that give the engine's
// activities what they keep in SQLite. serve wires them; tests of other packages use the same
// ones, so that what runs in tests is what runs in the product.
package enginestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"trellis/engine"
	"trellis/store"
)

// Tasks is the engine's TaskStore over the store: approval nodes open, escalate, close and
// cancel their tasks through it. Escalate and CancelTask are the store's own.
type Tasks struct{ *store.DB }

var _ engine.TaskStore = Tasks{}

// OpenTask stores the task; a task the store refuses wraps engine.ErrBadTask, so that the
// node fails at once instead of retrying.
func (s Tasks) OpenTask(ctx context.Context, t engine.NewTask) (string, error) {
	task, _, err := s.CreateTask(ctx, t)
	if errors.Is(err, store.ErrInvalid) {
		return "", fmt.Errorf("%w: %s", engine.ErrBadTask, err.Error())
	}
	if err != nil {
		return "", err
	}
	return task.ID, nil
}

// RecordDecision closes the task with the decision.
func (s Tasks) RecordDecision(ctx context.Context, runID, nodeID string, d engine.TaskDecision) error {
	data, err := json.Marshal(d.Data)
	if err != nil {
		return fmt.Errorf("encode decision data: %w", err)
	}
	return s.CloseTask(ctx, runID, nodeID, store.TaskDecision{Outcome: d.Outcome, Data: data, Comment: d.Comment,
		DecidedBy: d.DecidedBy, DecidedAt: d.DecidedAt})
}
