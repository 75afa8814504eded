package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// DefaultTaskQueue is the task queue runs are started on and workers poll.
const DefaultTaskQueue = "trellis"

// StoreQueueSuffix makes the store queue of a task queue: the activities that read or write
// the store (approval tasks, subgraph versions) run there, polled only by the worker that
// holds the store (serve). Workers elsewhere poll the main queue alone.
const StoreQueueSuffix = "-store"

// StoreTaskQueue is the store queue of the task queue q.
func StoreTaskQueue(q string) string { return q + StoreQueueSuffix }

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
	// MCPServers names the MCP servers agents' mcp tools call; nil fails those calls.
	MCPServers MCPServerSource
	// HTTPClient sends http nodes' requests; nil means a default client. Redirects are
	// limited to 5 unless the client sets its own CheckRedirect.
	HTTPClient *http.Client
	// DecisionKey, when set, makes the worker refuse decide updates without serve's
	// signature (decision_proof.go).
	DecisionKey []byte
	// Outbound limits where http nodes connect (ssrf.go); nil allows every address, so
	// serve and worker always set it (denying non-public addresses unless told otherwise).
	Outbound *OutboundPolicy
	// MaxWait is the longest a wait node's until may lie ahead (serve --max-wait); 0 means
	// DefaultMaxWait (wait_cap.go).
	MaxWait time.Duration
	// MaxMapItems is the most items a map node may have (serve --max-map-items); 0 means
	// MaxMapItems (map_limit.go).
	MaxMapItems int
	// MaxResponseBytes caps an http response body; 0 means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	Logger           *slog.Logger
	// Metrics receives the activities' own metrics (llm tokens and cost); nil records none.
	Metrics *Metrics
	// TaskQueue defaults to DefaultTaskQueue.
	TaskQueue string
	// Remote marks a worker away from the store (trellis worker): it polls only the main
	// queue and offers no store activities, so Tasks and Versions are unused. Otherwise the
	// worker polls the store queue too.
	Remote bool
	// StoreQueueOnly makes a worker poll only the store queue, leaving runs and their http
	// and llm nodes to remote workers.
	StoreQueueOnly bool
	// Notifier, when set, hears from this worker when a run may have changed (notify.go).
	Notifier *Notifier
	// Schedules picks what a schedule's firing runs (schedules_workflow.go); nil fails firings.
	Schedules ScheduleResolver
	// Notifications keeps who is told what about tasks (notification.go); nil sends none.
	Notifications NotificationStore
}

// DefaultRunCache is how many runs' state a process keeps in memory between their steps by
// default. A cached run costs about 40 KB (its coroutines' stacks and interpreter state;
// serve held 79 MB of stacks with 2,000 runs waiting, all cached).
const DefaultRunCache = 1000

// SetRunCache sets how many runs' workflow state this process's workers keep between their
// workflow tasks; a run not kept is replayed from its history when it next moves. The SDK
// makes one cache for the process with its first worker, and the embedded server's own
// system workers are workers too: call it before StartServer and NewWorker.
func SetRunCache(n int) { worker.SetStickyWorkflowCacheSize(n) }

// NewWorker returns a worker (not started) for the main queue, which runs the interpreter
// and its activities, and the store queue, which runs the store's activities: deps.Remote
// leaves out the store queue and deps.StoreQueueOnly the main one. The main queue offers the
// store's activities too, unless Remote, for runs that scheduled them there before the
// store queue existed.
func NewWorker(c client.Client, deps Deps) worker.Worker {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	tq := deps.TaskQueue
	if tq == "" {
		tq = DefaultTaskQueue
	}
	var sw worker.Worker
	if !deps.Remote {
		sw = worker.New(c, StoreTaskQueue(tq), worker.Options{WorkerStopTimeout: stopGrace, Interceptors: notifyInterceptors(deps.Notifier)})
		registerActivitiesWhere(sw, &deps, func(name string) bool { return storeActivities[name] })
		if deps.StoreQueueOnly {
			return sw
		}
	}
	w := worker.New(c, tq, worker.Options{
		// Headroom only: a run's first workflow task compiles just the nodes it starts
		// (changeNodeConfig); make bench measures how long that task takes.
		DeadlockDetectionTimeout: 5 * time.Second,
		WorkerStopTimeout:        stopGrace,
		Interceptors: append(append([]interceptor.WorkerInterceptor{&runMetrics{}}, notifyInterceptors(deps.Notifier)...),
			append(append(decisionProofInterceptors(deps.DecisionKey), waitCapInterceptors(deps.MaxWait)...),
				mapLimitInterceptors(deps.MaxMapItems)...)...),
	})
	w.RegisterWorkflowWithOptions(Interpreter, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterWorkflowWithOptions(Scheduled, workflow.RegisterOptions{Name: ScheduledWorkflowName})
	registerNotifyWorkflows(w)
	w.RegisterWorkflowWithOptions(BatchWorkflow, workflow.RegisterOptions{Name: BatchWorkflowName})
	if deps.Remote {
		registerActivitiesWhere(w, &deps, func(name string) bool { return !storeActivities[name] })
		return w
	}
	registerActivities(w, &deps)
	return &workerPair{Worker: w, store: sw}
}

// stopGrace is how long a stopping worker (serve's SIGTERM, a restart) lets activities in
// flight finish and report. Cut off, an approval's task written to the store but not
// reported is written again only after its 30 s StartToCloseTimeout, and decisions on it
// wait that long: make bench's restart benchmark saw it for the tasks opened last.
const stopGrace = 10 * time.Second

// workerPair is the main queue's worker with the store queue's beside it; registering goes
// to the main one.
type workerPair struct {
	worker.Worker
	store worker.Worker
}

func (p *workerPair) Start() error {
	if err := p.store.Start(); err != nil {
		return fmt.Errorf("store queue: %w", err)
	}
	if err := p.Worker.Start(); err != nil {
		p.store.Stop()
		return err
	}
	return nil
}

func (p *workerPair) Run(interrupt <-chan any) error {
	if err := p.Start(); err != nil {
		return err
	}
	<-interrupt
	p.Stop()
	return nil
}

func (p *workerPair) Stop() {
	p.Worker.Stop()
	p.store.Stop()
}

// storeActivities names the activities that read or write the store.
var storeActivities = map[string]bool{}

// registerStoreActivity is registerActivity for an activity that reads or writes the store;
// its kind schedules it on the store queue (see storeQueue).
func registerStoreActivity(name string, f activityFactory) {
	registerActivity(name, f)
	storeActivities[name] = true
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
	r.RegisterWorkflowWithOptions(Scheduled, workflow.RegisterOptions{Name: ScheduledWorkflowName})
	registerNotifyWorkflows(r)
	r.RegisterWorkflowWithOptions(BatchWorkflow, workflow.RegisterOptions{Name: BatchWorkflowName})
	registerActivities(r, deps)
}

func registerActivities(r activityRegistry, deps *Deps) {
	registerActivitiesWhere(r, deps, func(string) bool { return true })
}

func registerActivitiesWhere(r activityRegistry, deps *Deps, keep func(name string) bool) {
	for _, name := range activityNames() {
		if keep(name) {
			r.RegisterActivityWithOptions(activityFactories[name](deps), activity.RegisterOptions{Name: name})
		}
	}
}

// NewSDKLogger adapts slog for the Temporal SDK (client.Options.Logger). The SDK tags the
// lines of workflows and activities with WorkflowID, which is the Trellis run id: it is
// logged as run_id, the key every other line about a run uses.
func NewSDKLogger(l *slog.Logger) log.Logger {
	if l == nil {
		l = slog.Default()
	}
	return log.NewStructuredLogger(slog.New(runIDHandler{l.Handler()}))
}

type runIDHandler struct{ slog.Handler }

func renameRunID(a slog.Attr) slog.Attr {
	if a.Key == "WorkflowID" {
		a.Key = "run_id"
	}
	return a
}

func (h runIDHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(renameRunID(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h runIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	renamed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		renamed[i] = renameRunID(a)
	}
	return runIDHandler{h.Handler.WithAttrs(renamed)}
}

func (h runIDHandler) WithGroup(name string) slog.Handler {
	return runIDHandler{h.Handler.WithGroup(name)}
}
