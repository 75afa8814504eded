package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// StartRequest asks to start a run of a graph.
type StartRequest struct {
	GraphID string
	// Version is the version to run; 0 is the latest that is not retired.
	Version int
	// Input is the run's input as decoded JSON; a map gets the schema's defaults filled in.
	Input any
	By    string
}

// Started is a run that started.
type Started struct {
	RunID   string
	Version int
}

// StartRun starts a run on a version: it picks the version, checks the input against its
// schema and hands both to the engine. Refusals: NotFound for an unknown graph or version;
// Conflict for a retired version or none to run; Invalid with the Input problems where the
// input does not fit, or with the Graph problems when the version cannot run.
func (a *Actions) StartRun(ctx context.Context, req StartRequest) (*Started, error) {
	if !store.ValidGraphID(req.GraphID) {
		return nil, refusef(NotFound, "There is no graph %q.", req.GraphID)
	}
	// Before anything walks the input (routing, schema checks).
	if err := a.checkRunQuotas(nil, req.Input); err != nil {
		return nil, err
	}
	// A run started without a version follows the graph's traffic split, if any (traffic.go).
	runID, asked := "", req.Version
	if asked == 0 {
		var err error
		if runID, err = engine.NewRunID(); err != nil {
			return nil, err
		}
		if asked, err = a.routeVersion(ctx, req.GraphID, runID, req.Input); err != nil {
			return nil, err
		}
	}
	v, def, err := a.versionFor(ctx, req.GraphID, asked, req.Input)
	if err != nil {
		return nil, err
	}
	id, err := a.start(ctx, engine.StartRunRequest{GraphID: v.GraphID, Version: v.Version, Definition: *def, Input: req.Input, StartedBy: req.By, RunID: runID})
	if err != nil {
		return nil, err
	}
	return &Started{RunID: id, Version: v.Version}, nil
}

// versionFor picks the version a run starts on (0: the latest) and checks input against
// its input schema.
func (a *Actions) versionFor(ctx context.Context, graphID string, version int, input any) (*store.Version, *designer.Graph, error) {
	v, err := a.PickVersion(ctx, graphID, version)
	if err != nil {
		return nil, nil, err
	}
	def, err := ParseVersion(v)
	if err != nil {
		return nil, nil, err
	}
	sch, err := InputSchema(v, def)
	if err != nil {
		return nil, nil, err
	}
	if errs := CheckInput(sch, input); len(errs) > 0 {
		return nil, nil, &Error{Kind: Invalid, Message: fmt.Sprintf("The input does not fit the input schema of version %d.", v.Version), Input: errs}
	}
	return v, def, nil
}

// InputSchema compiles a version's input schema. Versions were checked when published, so a
// failure means the rules changed since; say so rather than start a run unchecked.
func InputSchema(v *store.Version, def *designer.Graph) (*designer.Schema, error) {
	sch, err := designer.CompileSchema(def.Input)
	if err != nil {
		return nil, &Error{Kind: Invalid, Message: fmt.Sprintf("The input schema of version %d cannot be used: %v.", v.Version, err), Err: err}
	}
	return sch, nil
}

// CheckInput fills in the schema's defaults and returns where input does not fit.
func CheckInput(sch *designer.Schema, input any) []designer.FieldError {
	if m, ok := input.(map[string]any); ok {
		sch.ApplyDefaults(m)
	}
	return sch.Validate(input)
}

// PickVersion is the version a run starts on: the one asked for (0 for none), which must not
// be retired, or else the latest version that is not retired.
func (a *Actions) PickVersion(ctx context.Context, graphID string, asked int) (*store.Version, error) {
	if asked > 0 {
		v, err := a.graphs.GetVersion(ctx, graphID, asked)
		if err != nil {
			return nil, err
		}
		if v.Retired {
			return nil, refusef(Conflict, "Version %d is retired: no new runs can start on it. Choose another version.", asked)
		}
		return v, nil
	}
	versions, err := a.graphs.ListVersions(ctx, graphID)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if !v.Retired {
			return a.graphs.GetVersion(ctx, graphID, v.Version)
		}
	}
	if len(versions) == 0 {
		return nil, refusef(Conflict, "Graph %s has no published version yet; publish the draft first.", graphID)
	}
	return nil, refusef(Conflict, "Every version of %s is retired; publish a new one to start runs.", graphID)
}

// StartDraft starts a test run of a draft's definition with a checked input.
func (a *Actions) StartDraft(ctx context.Context, graphID string, def *designer.Graph, input any, by string) (string, error) {
	return a.start(ctx, engine.StartRunRequest{GraphID: graphID, Draft: true, Definition: *def, Input: input, StartedBy: by})
}

// Rerun starts a new run on the definition run runID was pinned to, with the same input: on
// the same version, or as another test run of the same draft snapshot. Refusals: Conflict
// for a run Trellis did not start on a graph, or a version retired since.
func (a *Actions) Rerun(ctx context.Context, runID, by string) (string, error) {
	if a.engine == nil {
		return "", errNoEngine("Runs cannot start")
	}
	tl, err := a.engine.Timeline(ctx, runID)
	if err != nil {
		return "", err
	}
	if tl.GraphID != "" && tl.Version == engine.DraftVersion {
		return a.StartDraft(ctx, tl.GraphID, &tl.Definition, tl.Input, by)
	}
	if tl.GraphID == "" || tl.Version < 1 {
		return "", refusef(Conflict, "Run %s was not started by Trellis on a graph version, so it cannot run again.", runID)
	}
	v, err := a.graphs.GetVersion(ctx, tl.GraphID, tl.Version)
	switch {
	case err == nil && v.Retired:
		return "", refusef(Conflict, "Version %d of %s is retired: no new runs can start on it.", tl.Version, tl.GraphID)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	return a.start(ctx, engine.StartRunRequest{GraphID: tl.GraphID, Version: tl.Version, Definition: tl.Definition, Input: tl.Input, StartedBy: by})
}

// start hands a checked run to the engine.
func (a *Actions) start(ctx context.Context, req engine.StartRunRequest) (string, error) {
	if a.engine == nil {
		return "", errNoEngine("Runs cannot start")
	}
	if err := a.checkRunQuotas(&req.Definition, req.Input); err != nil {
		return "", err
	}
	if err := a.quotas.takeRun(req.StartedBy); err != nil {
		return "", err
	}
	what := fmt.Sprintf("Version %d", req.Version)
	if req.Draft {
		what = "The draft"
	}
	id, err := a.engine.StartRun(ctx, req)
	var de *engine.DefinitionError
	if errors.As(err, &de) {
		return "", &Error{Kind: Invalid, Message: fmt.Sprintf("%s cannot run: %s.", what, de.Error()), Graph: de.Problems, Err: err}
	}
	if err != nil {
		return "", fmt.Errorf("start run of %s (%s): %w", req.GraphID, what, err)
	}
	a.log.Info("run started", slog.String("graph", req.GraphID), slog.Int("version", req.Version), slog.Bool("draft", req.Draft),
		slog.String("run_id", id), slog.String("by", req.StartedBy))
	return id, nil
}
