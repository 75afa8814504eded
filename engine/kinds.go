package engine

import (
	"encoding/json"
	"sort"

	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// kind is one node kind the interpreter can run. Each kind lives in its own file
// (kind_<name>.go) and registers itself from init with registerKind; activities it needs
// are registered with registerActivity so that NewWorker picks them up. An activity-backed
// kind (llm) calls runActivity, which applies the node's retry and timeout and counts
// attempts; a human step (approval) marks its node with nodeExec.setWaiting and may install
// run-wide handlers through runSetup.
type kind interface {
	// compile checks and prepares a node's config once per definition. It must be pure:
	// its result is cached and shared between executions (see compileCached).
	compile(n *designer.Node, ps *problemList) any
	// ports lists the ports a node can complete on; edges are checked against it.
	ports(n *designer.Node, cfg any) []string
	// execute runs the node in workflow code. It returns the port and output, or an error
	// that on_error decides about. It must be deterministic (workflow.* APIs only).
	execute(ctx workflow.Context, x *nodeExec) (nodeResult, error)
	// historyEvents estimates the events one node adds to history in the worst case
	// (including the workflow task that follows it); see estimateHistory.
	historyEvents(n *designer.Node, cfg any) int
}

// runSetup is implemented by kinds that need run-wide workflow state, such as an update
// handler for human decisions. setup runs once per run, before any node starts, for every
// kind present in the definition (in order of first appearance).
type runSetup interface {
	setup(ctx workflow.Context, r *runState) error
}

// nodeResult is how a node ended when it did not fail.
type nodeResult struct {
	Port     string
	Output   any
	Attempts int
}

var kinds = map[string]kind{}

// registerKind adds a kind; call it from init only.
func registerKind(name string, k kind) {
	if _, dup := kinds[name]; dup {
		panic("engine: kind " + name + " registered twice")
	}
	kinds[name] = k
}

// kindFor finds a kind; every kind of the format is registered.
func kindFor(name string) (kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

// activityFactory builds an activity function from the worker's dependencies.
type activityFactory func(d *Deps) any

var activityFactories = map[string]activityFactory{}

// registerActivity adds an activity that NewWorker registers under name; call it from init.
func registerActivity(name string, f activityFactory) {
	if _, dup := activityFactories[name]; dup {
		panic("engine: activity " + name + " registered twice")
	}
	activityFactories[name] = f
}

func activityNames() []string {
	names := make([]string, 0, len(activityFactories))
	for n := range activityFactories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// specPorts are the ports graph-format.md gives each kind.
func specPorts(n *designer.Node) []string {
	switch n.Kind {
	case designer.KindApproval:
		var c designer.ApprovalConfig
		_ = json.Unmarshal(n.Config, &c)
		return c.OutcomeList()
	case designer.KindWait:
		return []string{designer.PortOut}
	case designer.KindLoop:
		return []string{designer.PortOut, designer.PortExhausted, designer.PortError}
	default:
		return []string{designer.PortOut, designer.PortError}
	}
}

// decodeConfig decodes a node's config strictly, reporting the problem on the node.
func decodeConfig(n *designer.Node, v any, ps *problemList) bool {
	if len(n.Config) == 0 {
		ps.nodef(n.ID, "config", "config is missing")
		return false
	}
	if err := json.Unmarshal(n.Config, v); err != nil {
		ps.nodef(n.ID, "config", "config does not fit kind %s: %v", n.Kind, err)
		return false
	}
	return true
}

// nodeExec is what a kind's execute sees of the run.
type nodeExec struct {
	r    *runState
	idx  int
	pn   *planNode
	node *designer.Node
	cfg  any
	item *itemScope // set for one item of a map's body
}

// scope is a snapshot of the expression scope holding only what refs name, for activity
// inputs: history stays small and later state changes cannot race with the activity.
// Secrets are never in it. An expression that names nodes only dynamically
// (nodes[expr]) gets every node.
func (x *nodeExec) scope(refs designer.Refs) map[string]any {
	s := map[string]any{}
	for _, root := range refs.Roots {
		switch root {
		case designer.RootInput:
			s[root] = x.r.in.Input
		case designer.RootRun:
			s[root] = x.r.runScope
		case designer.RootNodes:
			nodes := map[string]any{}
			if len(refs.Nodes) == 0 {
				for i := range x.r.plan.nodes {
					id := x.r.plan.nodes[i].node.ID
					nodes[id] = x.r.scopeNodes[id]
				}
			}
			for _, id := range refs.Nodes {
				if v, ok := x.r.scopeNodes[id]; ok {
					nodes[id] = v
				}
			}
			s[root] = nodes
		case designer.RootItem:
			if x.item != nil {
				s[root] = x.item.value
			}
		case designer.RootIndex:
			if x.item != nil {
				s[root] = x.item.index
			}
		}
	}
	return s
}

// liveScope is the run's whole scope, for evaluation inside workflow code. Callers must not
// keep it past the current step or hand it to another goroutine.
func (x *nodeExec) liveScope() map[string]any { return x.r.scope }

// setWaiting marks the node as waiting for a person (or running again); the run's status
// follows, and so does its TrellisStatus search attribute.
func (x *nodeExec) setWaiting(ctx workflow.Context, waiting bool) {
	if it := x.item; it != nil {
		// A map waits while any of its items does.
		if waiting {
			*it.waiting++
		} else {
			*it.waiting--
		}
		if *it.waiting > 1 || *it.waiting == 1 && !waiting {
			return
		}
	}
	x.r.setWaiting(ctx, x.idx, waiting)
}
