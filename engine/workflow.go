package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// WorkflowName is the name the interpreter workflow is registered under.
const WorkflowName = "Interpreter"

// RunInput is the interpreter's input. A run carries the full definition of the version it
// was started on, so publishing later never changes it.
type RunInput struct {
	RunID      string         `json:"run_id"`
	GraphID    string         `json:"graph_id"`
	Version    int            `json:"version"`
	Definition designer.Graph `json:"definition"`
	Input      any            `json:"input"`
	StartedBy  string         `json:"started_by"`
	// Rewind is set for a run rewound from another: the outputs it carries over (rewind.go).
	Rewind *RewindFrom `json:"rewind,omitempty"`
	// Batch is set for a child that runs part of a map's items (kind_map.go); Definition
	// then holds the map node alone.
	Batch *MapBatch `json:"batch,omitempty"`
}

// changeNodeConfig: a run compiles each node's config when the node starts, no longer all of
// them before its first step, which on a cold worker took a 2,000-node graph close to the
// SDK's one-second deadlock limit. A bad config (only a definition that skipped StartRun's
// check has one) now fails the run when its node is reached rather than at the start.
const changeNodeConfig = "node-config-on-start"

const (
	// maxInFlight bounds the nodes running at once, well under Temporal's 2,000 pending
	// activities or child workflows per run; ready nodes beyond it wait in document order.
	maxInFlight = 256
	// maxSubgraphDepth bounds subgraphs within subgraphs (run ids grow by ".<node>").
	maxSubgraphDepth = 8
)

// Interpreter runs one graph definition: roots start at once, a node starts when its
// incoming edges are decided (join all / any), edges follow ports and `when`, skips
// propagate, and on_error decides whether a failure ends the run.
//
// It must stay deterministic: document order everywhere, workflow.Now for time, no map
// iteration into commands. Any change in behaviour for runs already in flight must be
// guarded: v := workflow.GetVersion(ctx, "<change-id>", workflow.DefaultVersion, 1), old
// behaviour when v == workflow.DefaultVersion. TestReplayHistories replays the recorded
// histories in testdata/histories and fails when a guard is missing.
func Interpreter(ctx workflow.Context, in RunInput) (any, error) {
	if in.RunID == "" {
		in.RunID = workflow.GetInfo(ctx).WorkflowExecution.ID
	}
	r := &runState{in: in, status: RunRunning}
	if err := workflow.SetQueryHandler(ctx, StateQuery, r.snapshot); err != nil {
		return nil, err
	}
	if depth := strings.Count(in.RunID, "."); depth > maxSubgraphDepth {
		return nil, r.failRun(nonRetryable(ErrTypeSubgraph,
			fmt.Sprintf("subgraphs nested more than %d deep", maxSubgraphDepth)))
	}
	compileFor := compileCached
	if workflow.GetVersion(ctx, changeNodeConfig, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		compileFor = planCached
	}
	p, err := compileFor(&in.Definition)
	if err != nil {
		return nil, r.failRun(nonRetryable(ErrTypeDefinition, err.Error()))
	}
	r.init(ctx, p)
	if b := in.Batch; b != nil {
		// The body reads the parent's scope, not the batch's own.
		r.runScope, r.scopeNodes = b.Run, b.Nodes
		r.scope[designer.RootRun], r.scope[designer.RootNodes] = b.Run, b.Nodes
		return r.runBatch(ctx)
	}
	return r.run(ctx)
}

// runState is one run's state; all of it lives in workflow code.
type runState struct {
	plan     *plan
	in       RunInput
	runScope map[string]any
	// scopeNodes maps id → {"output", "status"}; scope is {"input", "nodes", "run"}.
	scopeNodes map[string]any
	scope      map[string]any
	nodes      []nodeRT
	status     string
	output     any
	err        *NodeError
	waiting    int

	nActive, nInactive []int
	decided            []bool
	queue              []int

	recovery // incidents, pause and resume (recovery.go)

	// execs are the nodes in flight, by index, so that a move to another version
	// (migrate.go) can give them their new index; migration is a move not yet applied.
	execs     []*nodeExec
	migration *pendingMigration
	rollup    rollupState // what the run last reported to the store (versions_rollup.go)
}

type nodeRT struct {
	NodeState
	result nodeResult
	runErr error
	// prior counts the attempts made before an operator's retry.
	prior int
}

func (r *runState) init(ctx workflow.Context, p *plan) {
	r.plan = p
	r.nodes = make([]nodeRT, len(p.nodes))
	r.nActive, r.nInactive = make([]int, len(p.nodes)), make([]int, len(p.nodes))
	r.decided = make([]bool, len(p.nodes))
	r.execs = make([]*nodeExec, len(p.nodes))
	info := workflow.GetInfo(ctx)
	r.runScope = map[string]any{"id": r.in.RunID, "graph": r.in.GraphID, "version": r.in.Version,
		"started_at": info.WorkflowStartTime.UTC().Format(time.RFC3339Nano)}
	r.scopeNodes = make(map[string]any, len(p.nodes))
	r.scope = map[string]any{designer.RootInput: r.in.Input, designer.RootNodes: r.scopeNodes,
		designer.RootRun: r.runScope}
	for i := range r.nodes {
		r.setStatus(i, NodePending)
	}
}

func (r *runState) failRun(err error) error {
	r.status = RunFailed
	r.err = errorInfo(err)
	return err
}

// setupKinds runs the run-wide setup of every kind present, in order of first appearance
// (a map's inline body counts as present).
func (r *runState) setupKinds(ctx workflow.Context) error {
	return r.setupKindsSeen(ctx, map[string]bool{})
}

// setupKindsSeen is setupKinds for the kinds not in seen (those already set up).
func (r *runState) setupKindsSeen(ctx workflow.Context, seen map[string]bool) error {
	for _, pn := range r.plan.nodes {
		for _, k := range []kindUse{{pn.node.Kind, pn.kind}, bodyKind(&pn)} {
			if k.kind == nil || seen[k.name] {
				continue
			}
			seen[k.name] = true
			if s, ok := k.kind.(runSetup); ok {
				if err := s.setup(ctx, r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *runState) run(ctx workflow.Context) (any, error) {
	if err := r.begin(ctx); err != nil {
		return nil, r.failRun(err)
	}
	runCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	done := workflow.NewBufferedChannel(ctx, len(r.plan.nodes))
	var failure error
	inFlight := 0
	for {
		for failure == nil && ctx.Err() == nil && !r.paused && len(r.queue) > 0 && inFlight < maxInFlight {
			i := r.queue[0]
			r.queue = r.queue[1:]
			if err := r.start(runCtx, i, done); err != nil {
				failure = err
				cancel()
				break
			}
			inFlight++
		}
		if r.enabled {
			// Between steps the run may wait for an operator: a held node or a pause.
			r.inFlight, r.stopping = inFlight, failure != nil || ctx.Err() != nil
			r.updateRunStatus(ctx)
			if inFlight == 0 && !r.waitsForOperator() && r.migration == nil {
				break
			}
			i, got := r.next(ctx, done)
			if got {
				inFlight--
				r.inFlight = inFlight
				if err := r.finish(ctx, i, failure != nil || ctx.Err() != nil); err != nil && failure == nil {
					failure = err
					cancel()
				}
			}
			if err := r.applyActions(ctx); err != nil && failure == nil {
				failure = err
				cancel()
			}
			if r.migration != nil {
				// A move happens here, between node completions (migrate.go).
				r.stopping = r.stopping || failure != nil || ctx.Err() != nil
				if err := r.applyMigration(ctx, done); err != nil && failure == nil {
					failure = err
					cancel()
				}
			}
			continue
		}
		if inFlight == 0 {
			break
		}
		var i int
		done.Receive(ctx, &i)
		inFlight--
		if err := r.finish(ctx, i, failure != nil || ctx.Err() != nil); err != nil && failure == nil {
			failure = err
			// Work still in flight is cancelled; its nodes report back and end cancelled.
			cancel()
		}
	}
	return r.conclude(ctx, failure)
}

// begin registers the run's handlers (recovery, moves, the kinds'), reports the start, and
// queues the nodes without inputs and what follows the nodes a rewind carried over.
func (r *runState) begin(ctx workflow.Context) error {
	if err := r.setupRecovery(ctx); err != nil {
		return err
	}
	if err := r.setupMigrate(ctx); err != nil {
		return err
	}
	r.rollupStart(ctx)
	if err := r.setupKinds(ctx); err != nil {
		return err
	}
	carried := r.carryOver(ctx)
	for i := range r.plan.nodes {
		if len(r.plan.in[i]) == 0 && !r.decided[i] {
			r.decided[i] = true
			r.queue = append(r.queue, i)
		}
	}
	for _, i := range carried {
		if err := r.propagate(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// conclude ends the run once nothing is in flight: failed, cancelled, or completed with the
// graph's output, reported in each case.
func (r *runState) conclude(ctx workflow.Context, failure error) (any, error) {
	r.endIncidents(failure, ctx.Err() != nil)
	if failure != nil {
		r.upsertUsage(ctx)
		err := r.failRun(failure)
		r.report(ctx, true)
		return nil, err
	}
	if ctx.Err() != nil {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		r.upsertUsage(dctx)
		r.status = RunCancelled
		r.err = &NodeError{Message: "run cancelled", Type: ErrTypeCancelled}
		r.report(dctx, true)
		return nil, ctx.Err()
	}
	r.upsertUsage(ctx)
	out, err := r.result(ctx)
	if err != nil {
		err = r.failRun(err)
		r.report(ctx, true)
		return nil, err
	}
	r.status, r.output = RunCompleted, out
	r.report(ctx, true)
	return out, nil
}

// start starts node i, or returns why the run must fail: its config does not compile.
func (r *runState) start(ctx workflow.Context, i int, done workflow.Channel) error {
	pn := &r.plan.nodes[i]
	n := &r.nodes[i]
	n.StartedAt = r.now(ctx)
	if r.enabled {
		n.Error, n.EndedAt = nil, nil // a retried node starts afresh
	}
	cfg, problems := pn.config()
	if len(problems) > 0 {
		err := nonRetryable(ErrTypeDefinition, (&DefinitionError{Problems: problems}).Error())
		n.EndedAt, n.Error = n.StartedAt, errorInfo(err)
		r.setStatus(i, NodeFailed)
		return err
	}
	r.setStatus(i, NodeRunning)
	x := &nodeExec{r: r, idx: i, pn: pn, node: pn.node, cfg: cfg}
	r.execs[i] = x
	workflow.Go(ctx, func(ctx workflow.Context) {
		res, err := pn.kind.execute(ctx, x)
		// x.idx, not i: a move to another version may have given the node a new index.
		r.nodes[x.idx].result, r.nodes[x.idx].runErr = res, err
		r.execs[x.idx] = nil
		done.Send(ctx, x.idx)
	})
	return nil
}

// finish records how node i ended and, unless the run is stopping, decides what follows.
// It returns an error when the run must fail.
func (r *runState) finish(ctx workflow.Context, i int, stopping bool) error {
	n := &r.nodes[i]
	pn := &r.plan.nodes[i]
	if n.Status == NodeWaiting {
		r.waiting--
		defer r.updateRunStatus(ctx)
	}
	n.EndedAt = r.now(ctx)
	n.Attempts = n.prior + max(n.result.Attempts, 1)
	defer r.observeNode(ctx, i)
	if n.runErr == nil {
		n.Output, n.Port = n.result.Output, n.result.Port
		if n.Port == "" {
			n.Port = designer.PortOut
		}
		r.setStatus(i, NodeCompleted)
		if stopping {
			return nil
		}
		return r.propagate(ctx, i)
	}
	n.Error = errorInfo(n.runErr)
	switch {
	case stopping && temporal.IsCanceledError(n.runErr):
		r.setStatus(i, NodeCancelled)
		return nil
	case stopping:
		r.setStatus(i, NodeFailed)
		return nil
	case pn.onError == designer.OnErrorContinue:
		n.Output = map[string]any{"error": map[string]any{"message": n.Error.Message, "type": n.Error.Type}}
		n.Port = designer.PortError
		r.setStatus(i, NodeCompleted)
		return r.propagate(ctx, i)
	case pn.onError == designer.OnErrorHold && r.enabled:
		r.hold(ctx, i)
		return nil
	}
	r.setStatus(i, NodeFailed)
	workflow.GetLogger(ctx).Info("node failed", "node", pn.node.ID, "error", n.Error.Message)
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("node %q failed: %s", pn.node.ID, n.Error.Message), n.Error.Type, nil)
}

// propagate decides the edges out of a node that just completed or was skipped, and
// follows skips; nodes that become ready are queued in document order.
func (r *runState) propagate(ctx workflow.Context, from int) error {
	work := []int{from}
	var ready []int
	for len(work) > 0 {
		n := work[len(work)-1]
		work = work[:len(work)-1]
		src := &r.nodes[n]
		for _, ei := range r.plan.out[n] {
			e := &r.plan.edges[ei]
			active := src.Status == NodeCompleted && src.Port == e.port
			if active && e.when != nil {
				ok, err := r.evalWhen(ctx, ei) // bounded and recorded (expr_eval.go)
				if err != nil {
					return err
				}
				active = ok
			}
			t := e.to
			if active {
				r.nActive[t]++
			} else {
				r.nInactive[t]++
			}
			if r.decided[t] {
				continue
			}
			total := len(r.plan.in[t])
			var run, skip bool
			if r.plan.nodes[t].node.JoinMode() == designer.JoinAny {
				if r.nActive[t]+r.nInactive[t] == total {
					run, skip = r.nActive[t] > 0, r.nActive[t] == 0
				}
			} else {
				skip = r.nInactive[t] > 0
				run = !skip && r.nActive[t] == total
			}
			switch {
			case skip:
				r.decided[t] = true
				r.setStatus(t, NodeSkipped)
				work = append(work, t)
			case run:
				r.decided[t] = true
				ready = append(ready, t)
			}
		}
	}
	sort.Ints(ready)
	r.queue = append(r.queue, ready...)
	return nil
}

// result is the run's output: the output expression, or every completed sink by id.
func (r *runState) result(ctx workflow.Context) (any, error) {
	if r.plan.output != nil {
		return r.evalOutput(ctx) // bounded and recorded (expr_eval.go)
	}
	out := map[string]any{}
	for i, pn := range r.plan.nodes {
		if len(r.plan.out[i]) == 0 && r.nodes[i].Status == NodeCompleted {
			out[pn.node.ID] = r.nodes[i].Output
		}
	}
	return out, nil
}
