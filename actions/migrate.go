package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// Migrator is what moving runs to another version needs of the engine (*engine.Engine).
type Migrator interface {
	GetRun(ctx context.Context, runID string) (*engine.Run, error)
	MigrateRun(ctx context.Context, runID string, req engine.MigrateRequest) (engine.MigrateResult, error)
}

// MigratePreview says whether a run can move to version To, and if not, why (each problem
// names a node).
type MigratePreview struct {
	RunID      string             `json:"run_id"`
	From       int                `json:"from"`
	To         int                `json:"to"`
	Compatible bool               `json:"compatible"`
	Problems   []designer.Problem `json:"problems"`
}

// migrateTarget reads the run and the version it would move to. Refusals: Invalid for a
// version that is not newer than the run's, unknown or retired; Conflict for a draft test
// run or one that has ended; NotFound for an unknown run.
func (a *Actions) migrateTarget(ctx context.Context, eng Migrator, runID string, to int) (*engine.Run, *designer.Graph, *designer.Graph, error) {
	run, err := eng.GetRun(ctx, runID)
	if err != nil {
		return nil, nil, nil, err
	}
	if run.Draft {
		return nil, nil, nil, refusef(Conflict, "Run %s is a test run of a draft; it cannot move to a version.", runID)
	}
	if to <= run.Version {
		return nil, nil, nil, migrateInvalid(fmt.Sprintf("Run %s is on version %d; it can move only to a newer version, not %d.", runID, run.Version, to))
	}
	target, err := a.graphs.GetVersion(ctx, run.Graph, to)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, migrateInvalid(fmt.Sprintf("Graph %s has no version %d.", run.Graph, to))
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if target.Retired {
		return nil, nil, nil, migrateInvalid(fmt.Sprintf("Version %d is retired; a run cannot move to it.", to))
	}
	tdef, err := ParseVersion(target)
	if err != nil {
		return nil, nil, nil, err
	}
	cur, err := a.graphs.GetVersion(ctx, run.Graph, run.Version)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("version %d of %s: %w", run.Version, run.Graph, err)
	}
	cdef, err := ParseVersion(cur)
	if err != nil {
		return nil, nil, nil, err
	}
	return run, cdef, tdef, nil
}

// PreviewMigrate says whether run runID can move to version to: every node that has
// started or finished must be in the target with the same id and kind.
func (a *Actions) PreviewMigrate(ctx context.Context, runID string, to int) (*MigratePreview, error) {
	eng, ok := a.engine.(Migrator)
	if !ok {
		return nil, errNoEngine("Runs cannot move")
	}
	run, cur, target, err := a.migrateTarget(ctx, eng, runID, to)
	if err != nil {
		return nil, err
	}
	p := &MigratePreview{RunID: runID, From: run.Version, To: to}
	if !liveRun(run.Status) {
		p.Problems = []designer.Problem{{Message: fmt.Sprintf("the run has ended (%s)", run.Status)}}
	} else {
		p.Problems = engine.MigrationProblems(cur, run.Nodes, target)
	}
	p.Compatible = len(p.Problems) == 0
	return p, nil
}

// Migrate moves run runID to version to and answers the version it is on. Refusals as
// PreviewMigrate's, and Conflict with the problems when the run cannot move; nothing
// changes then.
func (a *Actions) Migrate(ctx context.Context, runID string, to int, by, comment string) (int, error) {
	eng, ok := a.engine.(Migrator)
	if !ok {
		return 0, errNoEngine("Runs cannot move")
	}
	comment = strings.TrimSpace(comment)
	if err := checkComment(comment); err != nil {
		return 0, err
	}
	run, _, target, err := a.migrateTarget(ctx, eng, runID, to)
	if err != nil {
		return 0, err
	}
	if !liveRun(run.Status) {
		return 0, refusef(Conflict, "Run %s has ended (%s); only a running run can move.", runID, run.Status)
	}
	ctx, cancel := context.WithTimeout(ctx, DecideTimeout)
	defer cancel()
	res, err := eng.MigrateRun(ctx, runID, engine.MigrateRequest{Version: to, Definition: *target, By: by, Comment: comment})
	var me *engine.MigrationError
	if errors.As(err, &me) {
		return 0, &Error{Kind: Conflict, Message: fmt.Sprintf("Run %s cannot move to version %d.", runID, to), Graph: me.Problems, Err: err}
	}
	if err != nil {
		return 0, recoveryRefusal(runID, err)
	}
	a.log.Info("run moved", slog.String("run_id", runID), slog.Int("from", res.From), slog.Int("to", res.Version), slog.String("by", by))
	return res.Version, nil
}

func liveRun(status string) bool {
	switch status {
	case engine.RunRunning, engine.RunWaiting, engine.RunHeld, engine.RunPaused:
		return true
	}
	return false
}

func migrateInvalid(msg string) *Error {
	return &Error{Kind: Invalid, Message: msg, Graph: []designer.Problem{{Field: "to", Message: msg}}}
}
