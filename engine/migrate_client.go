package engine

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"trellis/designer"
)

// MigrateRun moves a running run to another version through the "migrate" update and
// waits until the run has applied it, between node completions. A run that cannot move
// answers a *MigrationError (incompatible, with the problems) or a *RecoveryError (an older
// version, a run that has ended or is already moving); nothing changed then.
func (e *Engine) MigrateRun(ctx context.Context, runID string, req MigrateRequest) (MigrateResult, error) {
	var res MigrateResult
	err := e.runUpdate(ctx, runID, UpdateMigrate, req, &res)
	if err == nil {
		return res, nil
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == refusedIncompatible {
		me := &MigrationError{}
		if app.HasDetails() {
			_ = app.Details(&me.Problems)
		}
		if len(me.Problems) == 0 {
			me.Problems = []designer.Problem{{Message: app.Message()}}
		}
		return res, me
	}
	return res, e.recoveryError(ctx, runID, err)
}
