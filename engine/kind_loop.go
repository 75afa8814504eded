package engine

import (
	"fmt"
	"maps"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// loopKind runs a body graph round after round: each round is a child run with the input
// {state, iteration} whose result becomes the next state; until is checked after each.
//
// History limits: a round costs the parent about ten events (the child's three, the
// recorded until, a workflow task or two), so 1,000 rounds, the most max_iterations allows,
// stay near 10,000 events, well under Temporal's 51,200; the rounds' own work is in their
// children's histories. The loop therefore runs in one history, without continue-as-new,
// which would also have to carry the rest of the run with it.
type loopKind struct{}

// changeLoopKind versions how a loop runs, as changeMapKind does for maps.
const changeLoopKind = "loop-kind"

type loopConfig struct {
	graph   string
	version int
	init    *designer.Expr
	until   *designer.Expr
	max     int
}

func init() { registerKind(designer.KindLoop, loopKind{}) }

func (loopKind) compile(n *designer.Node, ps *problemList) any {
	var c designer.LoopConfig
	if !decodeConfig(n, &c, ps) {
		return nil
	}
	cfg := &loopConfig{graph: c.Graph, max: c.MaxIterations}
	if strings.TrimSpace(c.Graph) == "" {
		ps.nodef(n.ID, "config.graph", "graph is missing")
	}
	v, err := parseSubgraphVersion(c.Version)
	if err != nil {
		ps.node(n.ID, "config.version", err)
	}
	cfg.version = v
	if c.MaxIterations < 1 || c.MaxIterations > designer.MaxLoopIterations {
		ps.nodef(n.ID, "config.max_iterations", "max_iterations must be from 1 to %d", designer.MaxLoopIterations)
	}
	cfg.init = optionalExpr(n.ID, "config.init", c.Init, ps)
	cfg.until = optionalExpr(n.ID, "config.until", c.Until, ps)
	return cfg
}

// optionalExpr compiles an expression that may be left out (nil then).
func optionalExpr(id, field, src string, ps *problemList) *designer.Expr {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	e, err := designer.CompileExpr(src)
	if err != nil {
		ps.node(id, field, err)
	}
	return e
}

func (loopKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

// historyEvents: the load activity and the first rounds; a long loop is checked against
// the limits above, not estimated.
func (loopKind) historyEvents(*designer.Node, any) int { return 8 + 3*workflowTaskEvents }

func (loopKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*loopConfig)
	workflow.GetVersion(ctx, changeLoopKind, workflow.DefaultVersion, 1)
	state, err := evalOptional(ctx, x, c.init, "init", x.liveScope(), nil)
	if err != nil {
		return nodeResult{}, err
	}
	body, attempts, err := loadBody(ctx, x, c.graph, c.version)
	if err != nil {
		return nodeResult{Attempts: attempts}, err
	}
	for it := 1; it <= c.max; it++ {
		x.r.nodes[x.idx].Rounds = &RoundProgress{Iteration: it, Max: c.max}
		childID := fmt.Sprintf("%s.%s.%d", x.r.rootRunID(), x.node.ID, it)
		out, err := body.run(ctx, x, childID, map[string]any{"state": state, "iteration": it},
			fmt.Sprintf("iteration %d of loop %s", it, x.node.ID))
		if err != nil {
			return nodeResult{Attempts: attempts}, err
		}
		state = out
		if c.until == nil {
			continue
		}
		scope := maps.Clone(x.liveScope())
		scope[designer.RootState], scope[designer.RootIteration] = state, it
		v, err := evalRecorded(ctx, c.until, scope, designer.WorkflowBudget)
		if err == nil {
			var done bool
			if done, err = designer.AsBool(v); err == nil && done {
				return nodeResult{Port: designer.PortOut, Attempts: attempts,
					Output: map[string]any{"state": state, "iterations": it}}, nil
			}
		}
		if err != nil {
			return nodeResult{}, nonRetryable(ErrTypeExpr,
				fmt.Sprintf("until of node %s failed after iteration %d: %v", x.node.ID, it, err))
		}
	}
	return nodeResult{Port: designer.PortExhausted, Attempts: attempts,
		Output: map[string]any{"state": state, "iterations": c.max}}, nil
}

// rootRunID is the id of the run the user started: a map batch's scope holds its parent's.
func (r *runState) rootRunID() string {
	if id, ok := r.runScope["id"].(string); ok {
		return id
	}
	return r.in.RunID
}

// evalOptional evaluates an expression that may be left out (giving otherwise) in workflow
// code, recorded; an error names the node and field.
func evalOptional(ctx workflow.Context, x *nodeExec, e *designer.Expr, field string, scope map[string]any, otherwise any) (any, error) {
	if e == nil {
		return otherwise, nil
	}
	v, err := evalRecorded(ctx, e, scope, designer.WorkflowBudget)
	if err != nil {
		return nil, nonRetryable(ErrTypeExpr, nodeExprErr(x.node.ID, field, err))
	}
	return v, nil
}

// loadBody loads a body graph's pinned version through the store's activity.
func loadBody(ctx workflow.Context, x *nodeExec, graph string, version int) (childBody, int, error) {
	def, attempts, err := runStoreActivity[designer.Graph](ctx, x, activityLoadSubgraph,
		loadRequest{GraphID: graph, Version: version})
	return childBody{graph: graph, version: version, def: def}, attempts, err
}

// childBody is a body graph's pinned definition, run as one child per item or round.
type childBody struct {
	graph   string
	version int
	def     designer.Graph
}

// run starts the body as the child run childID and waits for its result. Cancelling the
// parent cancels the child; the child of a draft test run is a draft run too.
func (b childBody) run(ctx workflow.Context, x *nodeExec, childID string, input any, what string) (any, error) {
	out, err := runChild(ctx, x, childID, b.graph, b.version, b.def, input, fmt.Sprintf("%s of %s", what, x.r.rootRunID()))
	if err != nil {
		if temporal.IsCanceledError(err) {
			return nil, err
		}
		info := errorInfo(err)
		return nil, nonRetryable(info.Type, fmt.Sprintf("%s (run %s): %s", what, childID, info.Message))
	}
	return out, nil
}

// graphItemKind runs one item of a map with a graph body: the body's input from item and
// index, then the child run NODE.INDEX of the run.
type graphItemKind struct{}

type graphItem struct {
	body  *childBody
	input *designer.Expr // nil: the item itself
}

func (graphItemKind) compile(*designer.Node, *problemList) any { return nil }

func (graphItemKind) ports(n *designer.Node, _ any) []string { return specPorts(n) }

func (graphItemKind) historyEvents(*designer.Node, any) int { return 3 + workflowTaskEvents }

func (graphItemKind) execute(ctx workflow.Context, x *nodeExec) (nodeResult, error) {
	c := x.cfg.(*graphItem)
	scope := maps.Clone(x.liveScope())
	scope[designer.RootItem], scope[designer.RootIndex] = x.item.value, x.item.index
	input, err := evalOptional(ctx, x, c.input, "input", scope, x.item.value)
	if err != nil {
		return nodeResult{}, err
	}
	out, err := c.body.run(ctx, x, x.r.rootRunID()+"."+x.node.ID, input, "item "+x.node.ID)
	return nodeResult{Output: out, Attempts: 1}, err
}
