// Package actions carries out what users do that takes more than one call to the store and
// the engine: publish a draft, start a run, run one again, decide a task. The web handlers
// (HTML and JSON alike) parse a request, call one method here, and render the result; the
// rules of each action live here once.
package actions

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"trellis/designer"
	"trellis/engine"
	"trellis/store"
)

// Graphs is what the actions need of the graph store (*store.DB implements it). Errors:
// store.ErrNotFound for an unknown graph or version; store.ErrConflict from PublishVersion
// when the definition equals the latest version.
type Graphs interface {
	GetGraph(ctx context.Context, id string) (*store.Graph, error)
	GetVersion(ctx context.Context, id string, version int) (*store.Version, error)
	LatestVersion(ctx context.Context, id string) (*store.Version, error)
	ListVersions(ctx context.Context, id string) ([]store.Version, error)
	PublishVersion(ctx context.Context, id string, def json.RawMessage, hash, note, author string) (*store.Version, error)
}

// Tasks is what deciding needs of the task store (*store.DB implements it). Errors:
// store.ErrNotFound for an unknown task.
type Tasks interface {
	GetTask(ctx context.Context, id string) (*store.Task, error)
}

// Engine is what the actions need of the workflow engine (*engine.Engine implements it).
// Errors: a *engine.DefinitionError from StartRun for a definition that cannot run;
// engine.ErrRunNotFound from Timeline; a *engine.DecisionError from Decide for a refusal.
type Engine interface {
	StartRun(ctx context.Context, req engine.StartRunRequest) (string, error)
	Timeline(ctx context.Context, runID string) (*engine.Timeline, error)
	Decide(ctx context.Context, runID, nodeID string, d engine.Decision) error
}

// Limits of what the actions take.
const (
	// MaxGraphBytes is the largest graph document.
	MaxGraphBytes = 2 << 20
	// MaxRunInputBytes is the largest run input, as JSON.
	MaxRunInputBytes = 256 << 10
	// DecideTimeout bounds the wait for a run to take a decision: a worker that is down
	// would otherwise hold the reviewer until they give up.
	DecideTimeout = 30 * time.Second
)

// GraphLimits are the designer's parse limits for graph documents.
var GraphLimits = designer.Limits{MaxBytes: MaxGraphBytes}

// Actions does the work. Graphs is required; without Engine (and Tasks for deciding) the
// actions that need them are refused as unavailable.
type Actions struct {
	graphs Graphs
	tasks  Tasks
	engine Engine
	log    *slog.Logger
	// quotas bound run inputs, waits and run starts a user (quotas.go).
	quotas quotaState
	// mcpTools lists an MCP server's tools, for publishing (SetMCPTools).
	mcpTools func(ctx context.Context, server string) ([]designer.MCPToolInfo, error)
}

// New returns the actions over a store and an engine; engine and tasks may be nil, and a nil
// logger discards.
func New(graphs Graphs, tasks Tasks, eng Engine, log *slog.Logger) *Actions {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Actions{graphs: graphs, tasks: tasks, engine: eng, log: log}
}

// HasEngine reports whether runs can start and tasks can be decided.
func (a *Actions) HasEngine() bool { return a.engine != nil }

// errNoEngine refuses an action that needs the workflow engine; what says what cannot happen.
func errNoEngine(what string) error {
	return refusef(Unavailable, "%s: this server is not connected to the workflow engine.", what)
}
