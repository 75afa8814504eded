package engine

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// DefaultTaskQueue is the task queue runs are started on and workers poll.
const DefaultTaskQueue = "trellis"

// SecretSource gives activities the value of secrets.NAME. It returns an error wrapping
// ErrSecretNotFound for a secret that is not set (the node then fails without retrying);
// any other error is retried.
type SecretSource interface {
	Secret(ctx context.Context, name string) (string, error)
}

// VersionSource loads a published version's definition for subgraph nodes. Version 0 means
// the latest version. It returns an error wrapping ErrVersionNotFound when there is no such
// graph or version; any other error is retried.
type VersionSource interface {
	VersionDefinition(ctx context.Context, graphID string, version int) (*designer.Graph, error)
}

// Errors that SecretSource and VersionSource implementations wrap.
var (
	ErrSecretNotFound  = errors.New("secret not found")
	ErrVersionNotFound = errors.New("graph version not found")
)

// Deps are what the worker's activities use.
type Deps struct {
	Secrets  SecretSource
	Versions VersionSource
	// Providers gives llm nodes their provider; nil fails them with how to configure one.
	Providers ProviderSource
	// Tasks stores the tasks of approval nodes; nil fails them.
	Tasks TaskStore
	// HTTPClient sends http nodes' requests; nil means a default client. Redirects are
	// limited to 5 unless the client sets its own CheckRedirect.
	HTTPClient *http.Client
	// MaxResponseBytes caps an http response body; 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	Logger           *slog.Logger
	// TaskQueue defaults to DefaultTaskQueue.
	TaskQueue string
}

// NewWorker returns a worker (not started) that runs the interpreter and its activities.
func NewWorker(c client.Client, deps Deps) worker.Worker {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	tq := deps.TaskQueue
	if tq == "" {
		tq = DefaultTaskQueue
	}
	w := worker.New(c, tq, worker.Options{
		// A run compiles its definition in workflow code on a cold cache: 30 ms for 2,000
		// nodes, about 110 ms under the race detector. The SDK's default limit of one
		// second without yielding leaves too little headroom on a loaded machine.
		DeadlockDetectionTimeout: 5 * time.Second,
	})
	register(w, &deps)
	return w
}

// activityRegistry is what a worker and the SDK test environments offer for activities.
type activityRegistry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

type registry interface {
	activityRegistry
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

func register(r registry, deps *Deps) {
	r.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: WorkflowName})
	registerActivities(r, deps)
}

func registerActivities(r activityRegistry, deps *Deps) {
	for _, name := range activityNames() {
		r.RegisterActivityWithOptions(activityFactories[name](deps), activity.RegisterOptions{Name: name})
	}
}

// NewSDKLogger adapts slog for the Temporal SDK (client.Options.Logger).
func NewSDKLogger(l *slog.Logger) log.Logger {
	if l == nil {
		l = slog.Default()
	}
	return log.NewStructuredLogger(l)
}
