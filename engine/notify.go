package engine

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// Notifier tells the live pages of this process that a run may have changed, so that they
// read its state once per change instead of on a timer per browser. The worker signals it
// when an activity starts or ends and when the interpreter schedules work, takes a signal
// or an update, or ends. A hint says "look again", never what changed: a run changed by a
// worker in another process sends none, so readers keep a slow interval beside it.
type Notifier struct {
	mu   sync.Mutex
	subs map[*notifySub]struct{}
}

type notifySub struct {
	run string // "" for every run
	ch  chan struct{}
}

// NewNotifier returns a notifier with no subscribers.
func NewNotifier() *Notifier { return &Notifier{subs: map[*notifySub]struct{}{}} }

// Notify hints that runID may have changed. It never blocks: a subscriber with a hint
// pending keeps that one.
func (n *Notifier) Notify(runID string) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for s := range n.subs {
		if s.run == "" || s.run == runID {
			select {
			case s.ch <- struct{}{}:
			default:
			}
		}
	}
}

// Subscribe returns a channel that receives a hint when runID ("" for any run) may have
// changed, and the function that ends the subscription.
func (n *Notifier) Subscribe(runID string) (<-chan struct{}, func()) {
	s := &notifySub{run: runID, ch: make(chan struct{}, 1)}
	n.mu.Lock()
	n.subs[s] = struct{}{}
	n.mu.Unlock()
	return s.ch, func() {
		n.mu.Lock()
		delete(n.subs, s)
		n.mu.Unlock()
	}
}

// notifyInterceptor is the worker interceptor that feeds a Notifier.
type notifyInterceptor struct {
	interceptor.WorkerInterceptorBase
	n *Notifier
}

func (i *notifyInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &notifyActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, n: i.n}
}

func (i *notifyInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &notifyWorkflow{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, n: i.n}
}

// notifyActivity hints when an activity starts (its node is running) and when it returns
// (its result is on the way to the run).
type notifyActivity struct {
	interceptor.ActivityInboundInterceptorBase
	n *Notifier
}

func (a *notifyActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	id := activity.GetInfo(ctx).WorkflowExecution.ID
	a.n.Notify(id)
	defer a.n.Notify(id)
	return a.ActivityInboundInterceptorBase.ExecuteActivity(ctx, in)
}

// notifyWorkflow hints from the interpreter's own steps. Hints change nothing the workflow
// records, so they keep it deterministic; none are sent while replaying.
type notifyWorkflow struct {
	interceptor.WorkflowInboundInterceptorBase
	n *Notifier
}

func notifyFrom(ctx workflow.Context, n *Notifier) {
	if !workflow.IsReplaying(ctx) {
		n.Notify(workflow.GetInfo(ctx).WorkflowExecution.ID)
	}
}

func (w *notifyWorkflow) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&notifyOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, n: w.n})
}

func (w *notifyWorkflow) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	defer notifyFrom(ctx, w.n)
	return w.Next.ExecuteWorkflow(ctx, in)
}

func (w *notifyWorkflow) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	defer notifyFrom(ctx, w.n)
	return w.Next.HandleSignal(ctx, in)
}

func (w *notifyWorkflow) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	defer notifyFrom(ctx, w.n)
	return w.Next.ExecuteUpdate(ctx, in)
}

// notifyOutbound hints when the interpreter starts a node's work.
type notifyOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	n *Notifier
}

func (o *notifyOutbound) ExecuteActivity(ctx workflow.Context, name string, args ...any) workflow.Future {
	notifyFrom(ctx, o.n)
	return o.Next.ExecuteActivity(ctx, name, args...)
}

func (o *notifyOutbound) ExecuteLocalActivity(ctx workflow.Context, name string, args ...any) workflow.Future {
	notifyFrom(ctx, o.n)
	return o.Next.ExecuteLocalActivity(ctx, name, args...)
}

func (o *notifyOutbound) ExecuteChildWorkflow(ctx workflow.Context, name string, args ...any) workflow.ChildWorkflowFuture {
	notifyFrom(ctx, o.n)
	return o.Next.ExecuteChildWorkflow(ctx, name, args...)
}

func (o *notifyOutbound) NewTimer(ctx workflow.Context, d time.Duration) workflow.Future {
	notifyFrom(ctx, o.n)
	return o.Next.NewTimer(ctx, d)
}

func (o *notifyOutbound) NewTimerWithOptions(ctx workflow.Context, d time.Duration, opts workflow.TimerOptions) workflow.Future {
	notifyFrom(ctx, o.n)
	return o.Next.NewTimerWithOptions(ctx, d, opts)
}

// notifyInterceptors are the worker's interceptors for deps.Notifier (none without one).
func notifyInterceptors(n *Notifier) []interceptor.WorkerInterceptor {
	if n == nil {
		return nil
	}
	return []interceptor.WorkerInterceptor{&notifyInterceptor{n: n}}
}
